{{/* Names, labels, and the credentials and configuration the other templates share. */}}

{{- define "changefeed.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "changefeed.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "changefeed.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "changefeed.selectorLabels" -}}
app.kubernetes.io/name: {{ include "changefeed.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "changefeed.labels" -}}
helm.sh/chart: {{ include "changefeed.chart" . }}
{{ include "changefeed.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "changefeed.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* The Secret every credential is read from. */}}
{{- define "changefeed.secretName" -}}
{{- .Values.secrets.existingSecret | default (include "changefeed.fullname" .) }}
{{- end }}

{{/*
Every credential as a YAML document `items: [{env, value}]`: DATABASE_URL, FEED_TOKEN_1..N, then
CHANGEFEED_<SOURCE>_<KNOB> for each source's `credentials` (in source order, knobs sorted).
The env name is also the Secret key. Fails on a source without a name or two credentials that
would share an env name.
*/}}
{{- define "changefeed.credentials" -}}
{{- $items := list (dict "env" "DATABASE_URL" "value" (toString .Values.secrets.databaseUrl)) }}
{{- range $i, $token := .Values.secrets.feedTokens }}
{{- $items = append $items (dict "env" (printf "FEED_TOKEN_%d" (add1 $i)) "value" (toString $token)) }}
{{- end }}
{{- $seen := dict }}
{{- range $source := .Values.config.sources }}
{{- if not $source.name }}
{{- fail "every entry of config.sources needs a name" }}
{{- end }}
{{- range $knob, $value := ($source.credentials | default dict) }}
{{- $env := printf "CHANGEFEED_%s_%s" $source.name $knob | upper | replace "-" "_" }}
{{- if hasKey $seen $env }}
{{- fail (printf "config.sources: credentials %s of %q and %s both map to %s" $knob $source.name (get $seen $env) $env) }}
{{- end }}
{{- $_ := set $seen $env (printf "%s of %q" $knob $source.name) }}
{{- $items = append $items (dict "env" $env "value" (toString $value)) }}
{{- end }}
{{- end }}
{{- toYaml (dict "items" $items) }}
{{- end }}

{{/* The changefeed configuration file: .Values.config with listen, database_url, feed.tokens
and every credential filled in as ${ENV} references. */}}
{{- define "changefeed.config" -}}
{{- $config := deepCopy (omit .Values.config "sources" "listen" "database_url") }}
{{- $_ := set $config "listen" (printf "0.0.0.0:%d" (int .Values.containerPort)) }}
{{- $_ = set $config "database_url" "${DATABASE_URL}" }}
{{- $feed := deepCopy (.Values.config.feed | default dict) }}
{{- $tokens := list }}
{{- range $i, $token := .Values.secrets.feedTokens }}
{{- $tokens = append $tokens (printf "${FEED_TOKEN_%d}" (add1 $i)) }}
{{- end }}
{{- $_ = set $feed "tokens" $tokens }}
{{- $_ = set $config "feed" $feed }}
{{- $sources := list }}
{{- range $source := .Values.config.sources }}
{{- $entry := deepCopy (omit $source "credentials") }}
{{- range $knob, $value := ($source.credentials | default dict) }}
{{- $_ := set $entry $knob (printf "${CHANGEFEED_%s_%s}" $source.name $knob | upper | replace "-" "_") }}
{{- end }}
{{- $sources = append $sources $entry }}
{{- end }}
{{- $_ = set $config "sources" $sources }}
{{- toYaml $config }}
{{- end }}
