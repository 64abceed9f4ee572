"""SageMaker Python SDK v2: Model.transformer().transform() against kamado, run inside the
SDK's venv with AWS_PROFILE=kamado; argv[1] is a JSON object of inputs. Prints one line
``KAMADO-SDK-RESULT <json>``."""

import json
import sys

import sagemaker
from sagemaker.model import Model

args = json.loads(sys.argv[1])
sess = sagemaker.Session()          # the bucket comes from the SDK's config file
bucket = sess.default_bucket()
model_data = sess.upload_data(args["model"], key_prefix="sdk-transform/model")
data = sess.upload_data(args["input"], key_prefix="sdk-transform/in")
model = Model(image_uri=sagemaker.image_uris.retrieve("xgboost", sess.boto_region_name, "1.7-1"),
              model_data=model_data, role=args["role"], sagemaker_session=sess)
transformer = model.transformer(instance_count=1, instance_type="ml.m5.large",
                                strategy="MultiRecord", assemble_with="Line", accept="text/csv",
                                output_path=f"s3://{bucket}/sdk-transform/out")
transformer.transform(data, content_type="text/csv", split_type="Line",
                      job_name=args["job_name"], wait=True, logs=False)
job = sess.sagemaker_client.describe_transform_job(TransformJobName=args["job_name"])
output = sess.read_s3_file(bucket, "sdk-transform/out/rows.csv.out")
print("KAMADO-SDK-RESULT " + json.dumps({
    "status": job["TransformJobStatus"], "output": output,
    "model_name": job["ModelName"]}), flush=True)
