"""The declarations ledger's format: the one definition that the function (lambda/) writes and reads, and
that the operator commands (`rds-certificate-override status`, `rotate`) read.

Pure: the standard library only, no AWS call. `declarations` holds the parameter layout, the declaration
and lock values and the decisions on them; `aws_answers` what AWS's answers mean for the ledger (a region
that refuses the account, a stack that is gone). Shipped in the function's artifact and in the operator
wheel alike.
"""
