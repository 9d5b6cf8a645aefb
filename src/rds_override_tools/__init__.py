"""The operator side of rds-certificate-override: the `rds-certificate-override` console command."""
