-- Argo CD health of an AlertThreshold, read from the agent-metrics operator's Ready condition.
local hs = {}
local generation = obj.metadata ~= nil and obj.metadata.generation or nil
local status = obj.status
if status == nil or status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the agent-metrics operator to reconcile the threshold"
  return hs
end
if generation ~= nil and (status.observedGeneration == nil or status.observedGeneration < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the agent-metrics operator to reconcile generation " .. generation
  return hs
end
local ready = nil
for _, condition in ipairs(status.conditions) do
  if condition.type == "Ready" then
    ready = condition
  end
end
if ready == nil or (generation ~= nil and ready.observedGeneration ~= nil and ready.observedGeneration < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the agent-metrics operator to report the threshold Ready"
  return hs
end
local message = ready.message or ""
if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = message
elseif ready.reason == "FeatureDisabled" then
  -- Switched off on purpose with the enable-agent-metrics flag, not broken.
  hs.status = "Suspended"
  hs.message = message
else
  -- MetricNotFound among them: the alert is not written until a definition names its metric.
  hs.status = "Degraded"
  hs.message = (ready.reason or "NotReady") .. ": " .. message
end
return hs
