{{/* Names and labels, as `helm create` lays them out. */}}
{{- define "portcullis.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "portcullis.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "portcullis.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "portcullis.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "portcullis.selectorLabels" -}}
app.kubernetes.io/name: {{ include "portcullis.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "portcullis.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "portcullis.selectorLabels" . }}
app.kubernetes.io/version: {{ include "portcullis.tag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "portcullis.tag" -}}
{{- .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "portcullis.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "portcullis.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "portcullis.configMapName" -}}
{{- .Values.existingConfigMap | default (include "portcullis.fullname" .) }}
{{- end }}

{{- define "portcullis.secretName" -}}
{{- .Values.existingSecret | default (include "portcullis.fullname" .) }}
{{- end }}

{{/*
The config file: .Values.config with server.listen and server.admin_listen
defaulting to all interfaces on the Service's ports (inside a pod the probes
and the Service reach the pod's address, not loopback).
*/}}
{{- define "portcullis.config" -}}
{{- $cfg := deepCopy (.Values.config | default dict) }}
{{- $server := deepCopy (get $cfg "server" | default dict) }}
{{- if not (hasKey $server "listen") }}
{{- $_ := set $server "listen" (printf "0.0.0.0:%v" .Values.service.port) }}
{{- end }}
{{- if not (hasKey $server "admin_listen") }}
{{- $_ := set $server "admin_listen" (printf "0.0.0.0:%v" .Values.service.adminPort) }}
{{- end }}
{{- $_ := set $cfg "server" $server }}
{{- toYaml $cfg }}
{{- end }}

{{/* A ConfigMap key for a file path: keys allow only [-._a-zA-Z0-9]. */}}
{{- define "portcullis.fileKey" -}}
{{- printf "file.%s" (regexReplaceAll "[^-._a-zA-Z0-9]" . "_") }}
{{- end }}
