"""Local stand-ins for the AWS services the function meets, all on loopback with dummy credentials.

- ``rds_emulator``: RDS DescribeCertificates/ModifyCertificates for moto, with a call log and fault
  injection (``install()`` adds them to moto).
- ``cloudformation``: CloudFormation's side of a custom resource: the events it sends, the presigned S3
  URL it reads the answer from, and one ``CloudFormation`` that delivers to a function run in fresh
  processes or in this process.
- ``lambda_runner``: the Lambda runtime's cold start, run by path in a fresh interpreter.
- ``settings``: the constants they share.

They need the ``local`` extra (moto, trustme) and run from a clone of the repository.
"""
