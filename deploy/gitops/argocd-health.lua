-- Argo CD health check for securequeue.io/SecureQueue, from the conditions the operator writes.
hs = {}
if obj.status == nil or obj.status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the securequeue operator"
  return hs
end
if obj.metadata.generation ~= nil and obj.status.observedGeneration ~= nil
    and obj.status.observedGeneration < obj.metadata.generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to see the latest spec"
  return hs
end
local ready, stalled, reconciling, deadLetter
for _, condition in ipairs(obj.status.conditions) do
  if condition.type == "Ready" then ready = condition end
  if condition.type == "Stalled" and condition.status == "True" then stalled = condition end
  if condition.type == "Reconciling" and condition.status == "True" then reconciling = condition end
  if condition.type == "DeadLetterQueueReady" then deadLetter = condition end
end
if stalled ~= nil then
  hs.status = "Degraded"
  hs.message = stalled.reason .. ": " .. stalled.message
elseif ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message
  if deadLetter ~= nil and deadLetter.reason == "MessagesInDeadLetterQueue" then
    hs.message = deadLetter.message
  end
elseif reconciling ~= nil or ready == nil then
  hs.status = "Progressing"
  hs.message = (ready and (ready.reason .. ": " .. ready.message)) or "Reconciling"
else
  hs.status = "Degraded"
  hs.message = ready.reason .. ": " .. ready.message
end
return hs
