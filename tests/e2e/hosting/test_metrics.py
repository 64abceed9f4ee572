"""Endpoint metrics under AWS's names: the Prometheus page and `kamado endpoints`."""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.request

import pytest
from botocore.exceptions import ClientError

from tests.e2e.hosting.conftest import XGBOOST, create_model, csv_rows, deploy


def scrape(host) -> str:
    with urllib.request.urlopen(f"{host.endpoint}/metrics", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        return response.read().decode()


def sample(text: str, metric: str, endpoint: str, variant: str, quantile: str | None = None):
    labels = f'account="000000000000",region="us-east-1",endpoint="{endpoint}",variant="{variant}"'
    if quantile:
        labels += f',quantile="{quantile}"'
    m = re.search(rf"^{metric}\{{{re.escape(labels)}\}} (\S+)$", text, re.M)
    return None if m is None else float(m.group(1))


def test_invocations_errors_and_latency_are_counted_per_variant(host, cancer_xgboost):
    sm, runtime = host.client("sagemaker"), host.client("sagemaker-runtime")
    create_model(sm, "metered", XGBOOST, cancer_xgboost.model_data)
    deploy(sm, "metered", [{"model": "metered"}])
    for i in range(5):
        runtime.invoke_endpoint(EndpointName="metered", ContentType="text/csv",
                                Body=csv_rows(cancer_xgboost.X[i:i + 1]))
    for _ in range(2):
        with pytest.raises(ClientError):
            runtime.invoke_endpoint(EndpointName="metered", ContentType="text/csv",
                                    Body=b"a,b\n")
    text = scrape(host)
    assert "# TYPE sagemaker_endpoint_invocations_total counter" in text
    assert sample(text, "sagemaker_endpoint_invocations_total", "metered", "AllTraffic") == 7
    assert sample(text, "sagemaker_endpoint_invocation_4xx_errors_total", "metered",
                  "AllTraffic") == 2
    assert sample(text, "sagemaker_endpoint_invocation_5xx_errors_total", "metered",
                  "AllTraffic") == 0
    assert sample(text, "sagemaker_endpoint_invocation_model_errors_total", "metered",
                  "AllTraffic") == 2
    assert sample(text, "sagemaker_endpoint_model_latency_microseconds_count", "metered",
                  "AllTraffic") == 5
    p50 = sample(text, "sagemaker_endpoint_model_latency_microseconds", "metered", "AllTraffic",
                 "0.5")
    assert p50 is not None and 0 < p50 < 5e6
    assert sample(text, "sagemaker_endpoint_overhead_latency_microseconds", "metered",
                  "AllTraffic", "0.5") >= 0

    out = subprocess.run([sys.executable, "-m", "kamado.cli.main", "endpoints"],
                         env={**host.env(), "COLUMNS": "200"}, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    row = next(line for line in out.stdout.splitlines() if "metered" in line)
    cells = [c.strip() for c in row.split("│") if c.strip()]
    assert cells[:6] == ["metered", "InService", "AllTraffic", "1", "1", "7"]
    assert cells[6:8] == ["2", "0"]
