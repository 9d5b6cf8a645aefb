"""The explorer: the real function under a deterministic scheduler, on a model of AWS with its faults.

`scheduler` runs the tasks; `aws_model`, `lambda_model` and `cloudformation` model the services;
`invariants` states what must hold; `world` wires one schedule; `python -m rds_override_local.explorer`
runs many (docs/explorer.md).
"""
