"""Shared test set-up. Runs before any test module imports the handler (`app`)."""

import os

# Nothing may reach real AWS: drop whatever the developer's shell has, then set dummy credentials and the
# function's region. crhelper builds boto3 clients when `app` is imported, so this must come first.
for _name in [name for name in os.environ if name.startswith("AWS_")]:
    del os.environ[_name]
os.environ.update(
    AWS_REGION="eu-west-1",
    AWS_DEFAULT_REGION="eu-west-1",
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_CONFIG_FILE=os.devnull,
    AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    AWS_EC2_METADATA_DISABLED="true",
    POWERTOOLS_SERVICE_NAME="rds-certificate-override",
)
