{{/* Names of the collector's objects (only rendered by this chart itself, never from a parent chart). */}}
{{- define "lameduck.collector.name" -}}
{{- printf "%s-collector" (include "lameduck.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The ConfigMap the collector keeps its state in. The collector creates it; the chart never renders it. */}}
{{- define "lameduck.collector.stateConfigMap" -}}
{{- printf "%s-collector-state" (include "lameduck.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "lameduck.collector.selectorLabels" -}}
app.kubernetes.io/name: {{ include "lameduck.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: collector
{{- end -}}

{{/*
The collector's image: lameduck.image over the top-level image with collector.image's set fields laid over it (a
collector tag drops an inherited digest; a digest wins over every tag).
*/}}
{{- define "lameduck.collector.image" -}}
{{- $values := deepCopy .Values -}}
{{- $own := .Values.collector.image | default dict -}}
{{- with $own.repository }}{{ $_ := set $values.image "repository" . }}{{ end -}}
{{- with $own.tag }}{{ $_ := set $values.image "tag" . }}{{ $_ := set $values.image "digest" "" }}{{ end -}}
{{- with $own.digest }}{{ $_ := set $values.image "digest" . }}{{ end -}}
{{- include "lameduck.image" (dict "Values" $values "Release" .Release "Chart" .Chart "Capabilities" .Capabilities "Template" .Template) -}}
{{- end -}}
