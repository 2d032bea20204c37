{{/*
Named templates. The public ones (add them to YOUR workload's pod template) all take the root
context `.`:

  lameduck.sidecar            the agent container, a list item for `containers:`
                              (or for `initContainers:` with sidecar.native: true)
  lameduck.preStop            the app container's `preStop:` (put it under `lifecycle:`)
  lameduck.readinessGates     list items for `readinessGates:` (empty unless the strategy is readiness-gate)
  lameduck.podLabels          pod template labels (the serving label for the label strategy)
  lameduck.serviceSelector    labels the app's Service selector must add (empty unless the strategy is label)
  lameduck.volumes            list items for `volumes:` (the config, a /tmp for the read-only root)
  lameduck.serviceAccountName the ServiceAccount the RoleBinding binds (`serviceAccountName:`)
  lameduck.podAnnotations     a checksum of the agent config, so a config change rolls the pods

In this chart they read .Values; in a chart that depends on this one (dependency name "lameduck")
they read that chart's .Values.lameduck, which Helm fills with this chart's defaults.
*/}}

{{/* This chart's values as YAML: .Values.lameduck when called from a parent chart, else .Values. */}}
{{- define "lameduck.valuesYaml" -}}
{{- if and (hasKey .Values "lameduck") (kindIs "map" .Values.lameduck) -}}
{{- toYaml .Values.lameduck -}}
{{- else -}}
{{- toYaml .Values -}}
{{- end -}}
{{- end -}}

{{- define "lameduck.name" -}}
{{- $v := include "lameduck.valuesYaml" . | fromYaml -}}
{{- $v.nameOverride | default "lameduck" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* <release>-lameduck, or the release name when it already contains "lameduck". */}}
{{- define "lameduck.fullname" -}}
{{- $v := include "lameduck.valuesYaml" . | fromYaml -}}
{{- if $v.fullnameOverride -}}
{{- $v.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "lameduck.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The labels of every object the chart creates, commonLabels last (the schema keeps them off these keys). */}}
{{- define "lameduck.labels" -}}
{{- include "lameduck.labelsExcept" (dict "root" . "except" dict) -}}
{{- end -}}

{{/* lameduck.labels for an object that adds labels of its own (they win: commonLabels skips their keys); context: dict root, except. */}}
{{- define "lameduck.labelsExcept" -}}
{{- $root := .root -}}
{{- $except := .except | default dict -}}
{{- $v := include "lameduck.valuesYaml" $root | fromYaml -}}
app.kubernetes.io/name: {{ include "lameduck.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" $root.Chart.Name $root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- range $key, $value := $v.commonLabels }}
{{- if not (hasKey $except $key) }}
{{ $key }}: {{ $value | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
The annotations of an object the chart creates: commonAnnotations and the object's own (`own`, a map; they win on the
same key), as a whole `annotations:` entry on a new line indented by `indent`, or nothing (not even a blank line) when
both are empty. Context: dict root, own, indent.
*/}}
{{- define "lameduck.annotations" -}}
{{- $v := include "lameduck.valuesYaml" .root | fromYaml -}}
{{- with merge (dict) (.own | default dict) ($v.commonAnnotations | default dict) -}}
{{- printf "annotations:\n%s" (toYaml . | indent 2) | nindent (int $.indent) -}}
{{- end -}}
{{- end -}}

{{/*
The agent image, for the sidecar and the injector: repository@digest when image.digest is set, else
repository:tag (tag defaults to the appVersion; a numeric tag from --set prints as digits, not 1.234567e+06).
*/}}
{{- define "lameduck.image" -}}
{{- $v := include "lameduck.valuesYaml" . | fromYaml -}}
{{- if $v.image.digest -}}
{{ $v.image.repository }}@{{ $v.image.digest }}
{{- else -}}
{{- $tag := $v.image.tag | default (include "lameduck.appVersion" .) -}}
{{- if and (kindIs "float64" $tag) (eq $tag (floor $tag)) -}}
{{- $tag = int64 $tag -}}
{{- end -}}
{{ $v.image.repository }}:{{ $tag }}
{{- end -}}
{{- end -}}

{{- define "lameduck.strategy" -}}
{{- $v := include "lameduck.valuesYaml" . | fromYaml -}}
{{- $strategy := $v.withdraw.strategy | default "readiness-gate" -}}
{{- if not (has $strategy (list "readiness-gate" "label" "probe")) -}}
{{- fail (printf "lameduck: withdraw.strategy is %q; expected readiness-gate, label or probe" $strategy) -}}
{{- end -}}
{{- $strategy -}}
{{- end -}}

{{/* The agent's version: this chart's appVersion, also when the templates run in a parent chart. */}}
{{- define "lameduck.appVersion" -}}
{{- if and (hasKey .Values "lameduck") .Subcharts (hasKey .Subcharts "lameduck") -}}
{{- .Subcharts.lameduck.Chart.AppVersion -}}
{{- else -}}
{{- .Chart.AppVersion -}}
{{- end -}}
{{- end -}}

{{- define "lameduck.configMapName" -}}
{{- printf "%s-config" (include "lameduck.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "lameduck.tokenSecretName" -}}
{{- $v := include "lameduck.valuesYaml" . | fromYaml -}}
{{- $v.token.existingSecret | default (printf "%s-token" (include "lameduck.fullname" .)) -}}
{{- end -}}

{{- define "lameduck.serviceAccountName" -}}
{{- $v := include "lameduck.valuesYaml" . | fromYaml -}}
{{- if $v.serviceAccount.create -}}
{{- $v.serviceAccount.name | default (include "lameduck.fullname" .) -}}
{{- else -}}
{{- required "lameduck: serviceAccount.name is required when serviceAccount.create is false" $v.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The agent configuration file: config, with server.port from port and drain.withdraw from withdraw. */}}
{{- define "lameduck.configYaml" -}}
{{- $v := include "lameduck.valuesYaml" . | fromYaml -}}
{{- $config := deepCopy ($v.config | default dict) -}}
{{- /* port and withdraw also shape the pod (container port, probes, readiness gate, label): one place to set them. */ -}}
{{- if hasKey (get $config "server" | default dict) "port" -}}
{{- fail "config.server.port: set the top-level `port` instead; it also sets the sidecar's container port, probes and preStop" -}}
{{- end -}}
{{- if hasKey (get $config "drain" | default dict) "withdraw" -}}
{{- fail "config.drain.withdraw: set the top-level `withdraw` instead; it also shapes the pod (readiness gate, label, probes)" -}}
{{- end -}}
{{- $server := get $config "server" | default dict -}}
{{- $_ := set $server "port" (int $v.port) -}}
{{- $_ = set $config "server" $server -}}
{{- $drain := get $config "drain" | default dict -}}
{{- $withdraw := dict "strategy" (include "lameduck.strategy" .) "timeout" $v.withdraw.timeout "conditionType" $v.withdraw.conditionType "label" $v.withdraw.label "lastServingEndpoint" ($v.withdraw.lastServingEndpoint | default "withdraw") -}}
{{- $_ = set $drain "withdraw" $withdraw -}}
{{- $_ = set $config "drain" $drain -}}
{{- toYaml $config -}}
{{- end -}}

{{/*
What every PodMonitor adds to its endpoint: scrapeTimeout, relabelings (the monitor's own, then the values'),
metricRelabelings (when set). Context: dict root, own (the monitor's own relabelings, may be empty).
*/}}
{{- define "lameduck.podMonitor.endpointExtras" -}}
{{- $monitoring := .root.Values.monitoring.podMonitor -}}
{{- $relabelings := concat (.own | default list) ($monitoring.relabelings | default list) -}}
{{- with $monitoring.scrapeTimeout }}
scrapeTimeout: {{ . }}
{{- end }}
{{- with $relabelings }}
relabelings:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $monitoring.metricRelabelings }}
metricRelabelings:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* ---------------------------------------------------------------- public templates */}}

{{- define "lameduck.sidecar" -}}
{{- $v := include "lameduck.valuesYaml" . | fromYaml -}}
{{- $s := $v.sidecar -}}
- name: {{ $s.name | default "lameduck" }}
  image: {{ include "lameduck.image" . | quote }}
  imagePullPolicy: {{ $v.image.pullPolicy }}
  {{- if $s.native }}
  restartPolicy: Always
  {{- end }}
  args: ["serve", "--config", "/etc/lameduck/lameduck.yaml"]
  env:
    - name: POD_NAME
      valueFrom:
        fieldRef:
          fieldPath: metadata.name
    - name: POD_NAMESPACE
      valueFrom:
        fieldRef:
          fieldPath: metadata.namespace
    - name: HOST_IP
      valueFrom:
        fieldRef:
          fieldPath: status.hostIP
    {{- if or $v.token.existingSecret $v.token.value }}
    - name: LAMEDUCK_TOKEN
      valueFrom:
        secretKeyRef:
          name: {{ include "lameduck.tokenSecretName" . }}
          key: {{ $v.token.key | default "token" }}
    {{- end }}
    {{- if $s.javaOpts }}
    - name: JAVA_OPTS
      value: {{ $s.javaOpts | quote }}
    {{- end }}
    {{- with $s.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  ports:
    - name: admin
      containerPort: {{ $v.port }}
      protocol: TCP
  startupProbe:
    httpGet: {path: /livez, port: admin}
    {{- toYaml $s.startupProbe | nindent 4 }}
  readinessProbe:
    httpGet: {path: /readyz, port: admin}
    {{- toYaml $s.readinessProbe | nindent 4 }}
  livenessProbe:
    httpGet: {path: /livez, port: admin}
    {{- toYaml $s.livenessProbe | nindent 4 }}
  {{- with $s.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $s.securityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  volumeMounts:
    - name: lameduck-config
      mountPath: /etc/lameduck
      readOnly: true
    - name: lameduck-tmp
      mountPath: /tmp
    {{- with $s.extraVolumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end -}}

{{- define "lameduck.preStop" -}}
{{- $v := include "lameduck.valuesYaml" . | fromYaml -}}
preStop:
  httpGet:
    path: /prestop
    port: {{ $v.port }}
{{- end -}}

{{- define "lameduck.readinessGates" -}}
{{- $v := include "lameduck.valuesYaml" . | fromYaml -}}
{{- if eq (include "lameduck.strategy" .) "readiness-gate" -}}
- conditionType: {{ $v.withdraw.conditionType | quote }}
{{- end -}}
{{- end -}}

{{- define "lameduck.serviceSelector" -}}
{{- $v := include "lameduck.valuesYaml" . | fromYaml -}}
{{- if eq (include "lameduck.strategy" .) "label" -}}
{{ $v.withdraw.label }}: "true"
{{- end -}}
{{- end -}}

{{/* Pod template labels: lameduck.io/sidecar (the PodMonitor's default selector) and the serving label. */}}
{{- define "lameduck.podLabels" -}}
lameduck.io/sidecar: "true"
{{- with include "lameduck.serviceSelector" . }}
{{ . }}
{{- end -}}
{{- end -}}

{{- define "lameduck.podAnnotations" -}}
checksum/lameduck-config: {{ include "lameduck.configYaml" . | sha256sum }}
{{- end -}}

{{- define "lameduck.volumes" -}}
- name: lameduck-config
  configMap:
    name: {{ include "lameduck.configMapName" . }}
- name: lameduck-tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end -}}
