{{- define "securequeue.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "securequeue.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "securequeue.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "securequeue.serviceAccountName" -}}
{{- default (include "securequeue.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- /* The image: repository@digest when a digest pins it, repository:tag otherwise. */ -}}
{{- define "securequeue.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{- /* An AWS account id, from (list NAME VALUE): a string as it is (the schema checks its twelve
digits), or a number (`--set`, or unquoted in a values file) written out as twelve digits. A
number outside 100000000000..999999999999 is refused: an id with a leading 0 read as a number
has lost its zeros, or was read as octal, and padding it would name another account. */ -}}
{{- define "securequeue.accountId" -}}
{{- $name := index . 0 -}}
{{- $id := index . 1 -}}
{{- if kindIs "string" $id -}}
{{- $id -}}
{{- else if and (ge (int64 $id) 100000000000) (le (int64 $id) 999999999999) -}}
{{- printf "%d" (int64 $id) -}}
{{- else -}}
{{- fail (printf "%s: %d is not a 12-digit AWS account id; pass it as a string (--set-string %s=012345678901, or quoted in a values file): a number loses an id's leading zeros" $name (int64 $id) $name) -}}
{{- end -}}
{{- end -}}
