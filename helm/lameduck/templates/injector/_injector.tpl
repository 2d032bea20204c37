{{/* Names of the injector's objects (only rendered by this chart itself, never from a parent chart). */}}
{{- define "lameduck.injector.name" -}}
{{- printf "%s-injector" (include "lameduck.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "lameduck.injector.selectorLabels" -}}
app.kubernetes.io/name: {{ include "lameduck.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: injector
{{- end -}}

{{- define "lameduck.injector.agentClusterRole" -}}
{{- printf "%s-agent" (include "lameduck.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "lameduck.injector.tlsSecret" -}}
{{- printf "%s-tls" (include "lameduck.injector.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
What the injector adds to a pod, rendered ONCE here from the public named templates (the single source of
truth): for every withdraw strategy, the agent config, the app containers' preStop, the readiness gates,
the pod labels and annotations, and the sidecar container in classic and native form. The volumes are
lameduck.volumes with one change: the config comes from the pod's own annotation `configAnnotation`
(a downwardAPI volume), because an injected pod lives in a namespace without the chart's ConfigMap.
*/}}
{{- define "lameduck.injector.template" -}}
{{- $configAnnotation := "lameduck.io/config" -}}
{{- $strategies := dict -}}
{{- range $strategy := list "readiness-gate" "label" "probe" -}}
{{- $variant := dict -}}
{{- range $native := list false true -}}
{{- $values := deepCopy $.Values -}}
{{- $_ := set $values.withdraw "strategy" $strategy -}}
{{- $_ = set $values.sidecar "native" $native -}}
{{- $ctx := dict "Values" $values "Release" $.Release "Chart" $.Chart "Capabilities" $.Capabilities "Template" $.Template "Files" $.Files -}}
{{- $sidecar := include "lameduck.sidecar" $ctx | fromYamlArray | first -}}
{{- if $native -}}
{{- $_ = set $variant "nativeSidecar" $sidecar -}}
{{- else -}}
{{- $_ = set $variant "sidecar" $sidecar -}}
{{- $_ = set $variant "config" (include "lameduck.configYaml" $ctx) -}}
{{- $_ = set $variant "preStop" (include "lameduck.preStop" $ctx | fromYaml).preStop -}}
{{- $_ = set $variant "readinessGates" (include "lameduck.readinessGates" $ctx | fromYamlArray) -}}
{{- $_ = set $variant "podLabels" (include "lameduck.podLabels" $ctx | fromYaml) -}}
{{- $_ = set $variant "podAnnotations" (include "lameduck.podAnnotations" $ctx | fromYaml) -}}
{{- end -}}
{{- end -}}
{{- $_ := set $strategies $strategy $variant -}}
{{- end -}}
{{- $volumes := list -}}
{{- range $volume := include "lameduck.volumes" . | fromYamlArray -}}
{{- if eq $volume.name "lameduck-config" -}}
{{- $item := dict "path" "lameduck.yaml" "fieldRef" (dict "fieldPath" (printf "metadata.annotations['%s']" $configAnnotation)) -}}
{{- $volumes = append $volumes (dict "name" $volume.name "downwardAPI" (dict "items" (list $item))) -}}
{{- else -}}
{{- $volumes = append $volumes $volume -}}
{{- end -}}
{{- end -}}
{{- $defaults := dict "strategy" (include "lameduck.strategy" .) "native" (.Values.sidecar.native | default false) -}}
{{- $template := dict "version" 1 "defaults" $defaults "configAnnotation" $configAnnotation "volumes" $volumes "strategies" $strategies "agentClusterRole" (include "lameduck.injector.agentClusterRole" .) -}}
{{- toYaml $template -}}
{{- end -}}

{{/* The fields both webhooks share; context: dict root, name, caBundle. */}}
{{- define "lameduck.injector.webhookCommon" -}}
admissionReviewVersions: ["v1"]
sideEffects: NoneOnDryRun
failurePolicy: {{ .root.Values.injector.failurePolicy }}
timeoutSeconds: {{ .root.Values.injector.timeoutSeconds }}
reinvocationPolicy: Never
matchPolicy: Equivalent
rules:
  - apiGroups: [""]
    apiVersions: ["v1"]
    operations: ["CREATE"]
    resources: ["pods"]
    scope: Namespaced
clientConfig:
  service:
    name: {{ .name }}
    namespace: {{ .root.Release.Namespace }}
    path: /mutate
    port: 443
  {{- with .caBundle }}
  caBundle: {{ . }}
  {{- end -}}
{{- end -}}
