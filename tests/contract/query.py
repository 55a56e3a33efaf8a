"""botocore's own Query protocol, for an independent check of ferry's (src/local/model/query.rs).

    python query.py serialize < cases.jsonl   # {"op", "params"} → {"op", "body"}
    python query.py parse < answers.jsonl     # {"op", "xml"} → {"op", "parsed"}

The serializer is the one boto3 and the AWS CLI send Elastic Load Balancing v2 requests
with; the parser the one they read its answers with. Timestamps come out as epoch seconds.
"""

import datetime
import json
import sys
import urllib.parse

import botocore.parsers
import botocore.serialize
import botocore.session

model = botocore.session.get_session().get_service_model("elbv2")


def plain(value):
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    return value


mode = sys.argv[1]
for line in sys.stdin:
    case = json.loads(line)
    operation = model.operation_model(case["op"])
    if mode == "serialize":
        serializer = botocore.serialize.create_serializer("query", include_validation=True)
        request = serializer.serialize_to_request(case["params"], operation)
        body = request["body"]
        if isinstance(body, dict):
            body = urllib.parse.urlencode(body)
        print(json.dumps({"op": case["op"], "body": body}))
    else:
        parser = botocore.parsers.create_parser("query")
        response = {"body": case["xml"].encode(), "headers": {}, "status_code": 200}
        parsed = parser.parse(response, operation.output_shape)
        print(json.dumps({"op": case["op"], "parsed": plain(parsed)}))
