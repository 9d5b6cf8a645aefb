"""A local stand-in for CloudFormation driving a Lambda-backed custom resource.

- ``events``: requests exactly as CloudFormation sends them (``make_event``, every property a string);
- ``response_server``: the presigned S3 ResponseURL, served over HTTPS on loopback (``ResponseServer``);
- ``fresh_process``: one invocation in a fresh Python process, as a Lambda cold start
  (``fresh_process.invoke``, ``Invocation``);
- ``stand_in``: ``CloudFormation``, the one API the demo and the tests send requests through, delivering to
  a ``FreshProcessFunction`` or an ``InProcessFunction``.

Typical use (what ``rds_override_local.cloud.local_cloud`` sets up)::

    with ResponseServer() as server:
        function = FreshProcessFunction(server, [artifact, sdk_dir], env=function_env)
        invocation = CloudFormation(function).send("Create", {"CertificateIdentifier": "rds-ca-rsa4096-g1"})
        assert invocation.answer["Status"] == "SUCCESS"
"""

from .events import cfn_stringify, make_event
from .fresh_process import Invocation, UnacceptableAnswer, default_python, function_environment
from .response_server import MAX_RESPONSE_BYTES, Attempt, RecordedResponse, ResponseServer
from .stand_in import CloudFormation, FreshProcessFunction, Function, InProcessFunction

__all__ = [
    "MAX_RESPONSE_BYTES",
    "Attempt",
    "CloudFormation",
    "FreshProcessFunction",
    "Function",
    "InProcessFunction",
    "Invocation",
    "RecordedResponse",
    "ResponseServer",
    "UnacceptableAnswer",
    "cfn_stringify",
    "default_python",
    "function_environment",
    "make_event",
]
