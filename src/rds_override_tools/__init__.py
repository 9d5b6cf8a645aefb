"""rds-certificate-override's operator side: the `rds-certificate-override` command (status), and the local
stand-ins (RDS emulator, CloudFormation, Lambda runtime) that the demo, the tests and the bench share."""
