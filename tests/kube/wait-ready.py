"""Waits until the test API server answers /readyz: python3 wait-ready.py PORT TOKEN CA_FILE."""
import ssl
import sys
import time
import urllib.request

port, token, ca = sys.argv[1:4]
context = ssl.create_default_context(cafile=ca)
for _ in range(300):
    try:
        request = urllib.request.Request(
            f"https://127.0.0.1:{port}/readyz", headers={"Authorization": f"Bearer {token}"}
        )
        if urllib.request.urlopen(request, context=context, timeout=1).status == 200:
            sys.exit(0)
    except Exception:
        time.sleep(0.2)
sys.exit("kube-apiserver did not become ready; see target/kube/apiserver.log")
