{{/*
The labels Helm's tooling reads, on every object the chart renders. Selectors and the pods' own
labels stay as in config/ (app.kubernetes.io/name: agent-metrics-operator): a Deployment's selector
cannot change, so a cluster installed from config/ can move to the chart.
*/}}
{{- define "agent-metrics.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: agent-metrics
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}

{{- define "agent-metrics.selectorLabels" -}}
app.kubernetes.io/name: agent-metrics-operator
{{- end }}

{{/* A map as the operator's flags take it: key=value,key=value, in key order. */}}
{{- define "agent-metrics.keyValues" -}}
{{- $pairs := list -}}
{{- range $key, $value := . -}}
{{- $pairs = append $pairs (printf "%s=%v" $key $value) -}}
{{- end -}}
{{- join "," $pairs -}}
{{- end }}

{{/* sidecar.resources as --sidecar-resources takes it: requests.cpu=20m,limits.memory=192Mi. */}}
{{- define "agent-metrics.sidecarResources" -}}
{{- $parts := list -}}
{{- range $kind := list "requests" "limits" -}}
{{- range $resource, $quantity := index $.Values.sidecar.resources $kind -}}
{{- $parts = append $parts (printf "%s.%s=%v" $kind $resource $quantity) -}}
{{- end -}}
{{- end -}}
{{- join "," $parts -}}
{{- end }}

{{- define "agent-metrics.image" -}}
{{- printf "%s:%s" .image.repository (default .root.Chart.AppVersion .image.tag) -}}
{{- end }}

{{- define "agent-metrics.subject" -}}
- kind: ServiceAccount
  name: agent-metrics-operator
  namespace: {{ .Release.Namespace }}
{{- end }}

{{/*
The operator's flags. The first six are the ones config/ passes, in its order (its overlay replaces
the third, --output); the rest appear only when set, so an empty value leaves the operator's default.
*/}}
{{- define "agent-metrics.args" -}}
{{- $v := .Values -}}
- {{ printf "--namespace=%s" .Release.Namespace | quote }}
- {{ printf "--listen=https://0.0.0.0:%v" $v.port | quote }}
- {{ printf "--output=%s" $v.output | quote }}
- {{ printf "--selector-labels=%s" (include "agent-metrics.keyValues" $v.selectorLabels) | quote }}
- {{ printf "--sidecar-image=%s" (include "agent-metrics.image" (dict "image" $v.sidecar.image "root" .)) | quote }}
- {{ printf "--sidecar-mode=%s" $v.sidecar.mode | quote }}
{{- if eq $v.sidecar.mode "push" }}
- {{ printf "--remote-write-url=%s" (required "remoteWrite.url is required with sidecar.mode push" $v.remoteWrite.url) | quote }}
{{- end }}
{{- with $v.remoteWrite.headers }}
- {{ printf "--remote-write-headers=%s" (include "agent-metrics.keyValues" .) | quote }}
{{- end }}
{{- with $v.remoteWrite.bearerTokenSecret }}
- {{ printf "--remote-write-bearer-token-secret=%s" . | quote }}
{{- end }}
{{- with $v.sidecar.pushInterval }}
- {{ printf "--sidecar-push-interval=%s" . | quote }}
{{- end }}
{{- if $v.sidecar.resources }}
- {{ printf "--sidecar-resources=%s" (include "agent-metrics.sidecarResources" .) | quote }}
{{- end }}
{{- if ne $v.sidecar.native "auto" }}
- {{ printf "--native-sidecar=%s" $v.sidecar.native | quote }}
{{- end }}
{{- with $v.sidecar.operatorUrl }}
- {{ printf "--sidecar-operator-url=%s" . | quote }}
{{- end }}
{{- if not $v.enableAgentMetrics }}
- "--enable-agent-metrics=false"
{{- end }}
{{- with $v.excludedNamespaces }}
- {{ printf "--excluded-namespaces=%s" (join "," .) | quote }}
{{- end }}
{{- with $v.dashboards.folder }}
- {{ printf "--dashboard-folder=%s" . | quote }}
{{- end }}
{{- with $v.dashboards.folderAnnotation }}
- {{ printf "--dashboard-folder-annotation=%s" . | quote }}
{{- end }}
{{- if eq $v.webhook.certificates "files" }}
- "--webhook-certificates=files"
- "--webhook-ca-file=/etc/agent-metrics/webhook/ca.crt"
{{- else }}
{{- if ne $v.webhook.secretName "agent-metrics-webhook-tls" }}
- {{ printf "--webhook-secret=%s" $v.webhook.secretName | quote }}
{{- end }}
{{- with $v.webhook.hosts }}
- {{ printf "--webhook-hosts=%s" (join "," .) | quote }}
{{- end }}
{{- end }}
{{- range $v.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end }}

{{/* The cert-manager annotation both webhook configurations carry. */}}
{{- define "agent-metrics.webhookAnnotations" -}}
{{- with .Values.webhook.certManagerCertificate -}}
annotations:
  cert-manager.io/inject-ca-from: {{ printf "%s/%s" $.Release.Namespace . }}
{{- end }}
{{- end }}
