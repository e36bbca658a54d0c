{{/* Every object's name: <chart_name>-mkg. */}}
{{- define "mkg.name" -}}
{{- printf "%s-mkg" (.Values.chart_name | default .Release.Name) | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{- define "mkg.namespace" -}}
{{- .Values.namespace | default .Release.Namespace -}}
{{- end }}

{{- define "mkg.selector" -}}
app.kubernetes.io/name: {{ include "mkg.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "mkg.labels" -}}
{{ include "mkg.selector" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end }}

{{/* Ports as a flat list of {name, port}: the first port of a name keeps the name, later ones get -1, -2... */}}
{{- define "mkg.ports" -}}
{{- range $name, $ports := .Values.ports }}
{{- range $i, $port := $ports }}
- name: {{ if eq $i 0 }}{{ $name | trunc 15 }}{{ else }}{{ printf "%s-%d" ($name | trunc 12) $i }}{{ end }}
  port: {{ $port }}
{{- end }}
{{- end }}
{{- end }}

{{/* Job deadline in seconds from allocationTime: a number, or a number with s, m, h or d. */}}
{{- define "mkg.seconds" -}}
{{- $t := toString . -}}
{{- $units := dict "s" 1 "m" 60 "h" 3600 "d" 86400 -}}
{{- $unit := substr (sub (len $t) 1 | int) (len $t) $t -}}
{{- if hasKey $units $unit -}}
{{- mul (trimSuffix $unit $t | atoi) (get $units $unit) -}}
{{- else -}}
{{- $t | atoi -}}
{{- end -}}
{{- end }}

{{- define "mkg.resources" -}}
memory: {{ .Values.memory_request | quote }}
cpu: {{ .Values.cpu_request | quote }}
{{- if gt (int .Values.gpu_request) 0 }}
nvidia.com/gpu: {{ .Values.gpu_request | quote }}
{{- end }}
{{- end }}

{{- define "mkg.podSpec" -}}
{{- with .Values.image_pull_secret }}
imagePullSecrets:
  - name: {{ . }}
{{- end }}
containers:
  - name: {{ include "mkg.name" . }}
    image: {{ printf "%s:%s" (required "docker_image is required" .Values.docker_image) (toString .Values.tag) | quote }}
    {{- with .Values.command }}
    command:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- if .Values.ports }}
    ports:
      {{- range (include "mkg.ports" . | fromYamlArray) }}
      - name: {{ .name }}
        containerPort: {{ .port }}
      {{- end }}
    {{- end }}
    {{- if or .Values.env_variables .Values.user_secret_params }}
    env:
      {{- range $key, $value := .Values.env_variables }}
      - name: {{ $key }}
        value: {{ toString $value | quote }}
      {{- end }}
      {{- range .Values.user_secret_params }}
      - name: {{ . }}
        valueFrom:
          secretKeyRef:
            name: {{ required "user_secret names the Secret holding user_secret_params" $.Values.user_secret }}
            key: {{ . }}
      {{- end }}
    {{- end }}
    resources:
      requests:
        {{- include "mkg.resources" . | nindent 8 }}
      limits:
        {{- include "mkg.resources" . | nindent 8 }}
    volumeMounts:
      - name: dshm
        mountPath: /dev/shm
      {{- range $i, $pv := .Values.persistent_volume }}
      - name: {{ printf "pv-%d" $i }}
        mountPath: {{ $pv.mountPath }}
      {{- end }}
      {{- range .Values.existing_persistent_volume }}
      - name: {{ .name }}
        mountPath: {{ .mountPath }}
      {{- end }}
volumes:
  # PyTorch and friends use /dev/shm for worker shared memory; the default 64 MiB is too small.
  - name: dshm
    emptyDir:
      medium: Memory
  {{- range $i, $pv := .Values.persistent_volume }}
  - name: {{ printf "pv-%d" $i }}
    persistentVolumeClaim:
      claimName: {{ printf "%s-pv-%d" (include "mkg.name" $) $i }}
  {{- end }}
  {{- range .Values.existing_persistent_volume }}
  - name: {{ .name }}
    persistentVolumeClaim:
      claimName: {{ .name }}
  {{- end }}
{{- end }}
