"""Runs deploy/gitops/argocd-health.lua in a real Lua interpreter (lupa) on SecureQueue states,
and checks that argocd-cm-patch.yaml carries the same script. Usage: test_argocd_health.py"""

import pathlib
import sys

import lupa
import yaml

root = pathlib.Path(__file__).resolve().parents[2]
script = (root / "deploy/gitops/argocd-health.lua").read_text()
patch = yaml.safe_load((root / "deploy/gitops/argocd-cm-patch.yaml").read_text())
assert patch["data"]["resource.customizations.health.securequeue.io_SecureQueue"] == script, \
    "argocd-cm-patch.yaml does not carry argocd-health.lua"


def health(obj):
    lua = lupa.LuaRuntime(unpack_returned_tuples=True)
    check = lua.eval("function(obj) " + script + " end")
    result = check(lua.table_from(to_lua(lua, obj)))
    return result["status"], result["message"]


def to_lua(lua, value):
    if isinstance(value, dict):
        return {k: to_lua_value(lua, v) for k, v in value.items()}
    return value


def to_lua_value(lua, value):
    if isinstance(value, dict):
        return lua.table_from(to_lua(lua, value))
    if isinstance(value, list):
        return lua.table_from([to_lua_value(lua, v) for v in value])
    return value


def queue(conditions, generation=1, observed=1):
    return {"metadata": {"generation": generation},
            "status": {"observedGeneration": observed, "conditions": conditions}}


def cond(kind, status, reason, message="m"):
    return {"type": kind, "status": status, "reason": reason, "message": message}


cases = [
    ({"metadata": {"generation": 1}}, "Progressing"),
    (queue([cond("Ready", "True", "Converged")], generation=2), "Progressing"),
    (queue([cond("Ready", "True", "Converged")]), "Healthy"),
    (queue([cond("Ready", "False", "Throttled"), cond("Reconciling", "True", "Throttled")]), "Progressing"),
    (queue([cond("Ready", "False", "NameConflict"), cond("Stalled", "True", "NameConflict", "taken")]), "Degraded"),
    (queue([cond("Ready", "False", "AccessDenied")]), "Degraded"),
    (queue([cond("DeadLetterQueueReady", "True", "MessagesInDeadLetterQueue", "2 messages wait"),
            cond("Ready", "True", "Converged")]), "Healthy"),
]
for obj, expected in cases:
    status, message = health(obj)
    assert status == expected, (obj, status, message)
status, message = health(cases[4][0])
assert message == "NameConflict: taken", message
assert health(cases[6][0])[1] == "2 messages wait"
print(f"argocd health check: {len(cases)} cases pass")
sys.exit(0)
