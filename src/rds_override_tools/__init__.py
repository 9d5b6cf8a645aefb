"""rds-certificate-override's operator side: commands run outside the Lambda function, and the local
stand-ins (RDS emulator, CloudFormation, Lambda runtime) that the demo, the tests and the bench share."""
