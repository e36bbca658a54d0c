{{- define "addons.labels" -}}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: maia-workspace
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end }}

{{/* A user's JupyterHub pod, by the escaped user name kubespawner labels it with. */}}
{{- define "addons.userSelector" -}}
component: singleuser-server
hub.jupyter.org/username: {{ .escaped | quote }}
{{- end }}
