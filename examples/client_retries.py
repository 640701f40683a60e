"""A scoring client with retries, tested against faults injected into an emulated AKS service.

Run offline with:  amlemu run examples/client_retries.py

In Azure you cannot make a service answer 503, drop connections or lose a replica on purpose;
the emulator can (``service.faults``, or ``amlemu faults inject`` from another shell), so the
retry logic below is exercised for real: transient failures (429, 502, 503, 504, dropped or
refused connections, timeouts) are retried with capped exponential back-off and jitter,
honouring ``Retry-After``; anything else (a 400, a 401) fails at once.
"""

import json
import random
import time
import urllib.error
import urllib.request

from azureml.core import Workspace
from azureml.core.compute import AksCompute, ComputeTarget
from azureml.core.image import ContainerImage, Image
from azureml.core.webservice import AksWebservice, Webservice

RETRIED_STATUSES = {429, 502, 503, 504}


class ScoringFailed(Exception):
    """The call failed for good: a non-transient status, or every attempt failed."""


def score(url, key, payload, attempts=8, timeout=2.0, base_delay=0.05, max_delay=1.0):
    """POST ``payload`` as JSON; returns (answer, attempts used). Retries transient failures."""
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    problem = None
    for attempt in range(1, attempts + 1):
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        retry_after = None
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read()), attempt
        except urllib.error.HTTPError as error:
            problem = f"HTTP {error.code}: {error.read().decode(errors='replace')[:80]}"
            if error.code not in RETRIED_STATUSES:
                raise ScoringFailed(problem) from None
            retry_after = error.headers.get("Retry-After")
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            problem = f"{type(error).__name__}: {error}"  # dropped, refused or timed out
        delay = min(max_delay, base_delay * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
        if retry_after and retry_after.isdigit():
            delay = max(delay, float(retry_after))
        time.sleep(delay)
    raise ScoringFailed(f"gave up after {attempts} attempts; last problem: {problem}")


def calls(url, key, count, **options):
    used = [score(url, key, {"n": n}, **options)[1] for n in range(count)]
    return f"{count} calls ok, {sum(used) - count} retries"


ws = Workspace.get(name="myworkspace", subscription_id="<sub>", resource_group="myrg")
with open("score_retries.py", "w") as f:
    f.write(
        "import json\n\n\ndef init():\n    pass\n\n\ndef run(data):\n    return json.loads(data)\n"
    )
image = Image.create(
    ws, "retries", [], ContainerImage.image_configuration("score_retries.py", "python")
)
image.wait_for_creation(show_output=False)
cluster = ComputeTarget.create(
    ws, "aks-retries", AksCompute.provisioning_configuration(cluster_purpose="DevTest")
)
cluster.wait_for_completion()
config = AksWebservice.deploy_configuration(num_replicas=2, autoscale_enabled=False)
service = Webservice.deploy_from_image(ws, "retrying", image, config, cluster, overwrite=True)
service.wait_for_deployment()
url, key = service.scoring_uri, service.get_keys()[0]
random.seed(0)

print("no faults:", calls(url, key, 5))
with service.faults.status(503, share=0.3, seed=1):
    print("503 on 30% of the requests:", calls(url, key, 10))
with service.faults.status(429, share=0.3, seed=2), service.faults.drop(share=0.2, seed=3):
    print("429s and dropped connections:", calls(url, key, 10))
service.faults.kill(replica=0).wait()
print("a replica killed:", calls(url, key, 10))
with service.faults.latency(0.6, share=0.3, seed=4):  # slower than the client's timeout
    print("slow replies time out and are retried:", calls(url, key, 4, timeout=0.3))
with service.faults.status(400):
    try:
        score(url, key, {})
    except ScoringFailed as failed:
        print("a 400 is not retried:", failed)
with service.faults.status(503):
    try:
        score(url, key, {}, attempts=3)
    except ScoringFailed as failed:
        print("a service that stays down:", failed)
print("injected faults in the service's log:", service.get_logs().count("[emulator] fault"))
service.delete()
