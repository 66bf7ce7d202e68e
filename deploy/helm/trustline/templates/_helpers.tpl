{{/* Names and labels. */}}
{{- define "trustline.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "trustline.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "ingest"). */}}
{{- define "trustline.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* A pod's labels: its selector plus the release's version labels: (dict "root" $ "component" "api"). */}}
{{- define "trustline.podLabels" -}}
{{ include "trustline.selector" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- with .root.Values.podLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "trustline.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ $tag }}
{{- end -}}
{{- end -}}

{{/* Where mounted secrets live inside a container. */}}
{{- define "trustline.secretsDir" -}}/var/run/secrets/trustline{{- end -}}

{{/* Required values: fail with a sentence, never render half a release. */}}
{{- define "trustline.validate" -}}
{{- if not .Values.kafka.bootstrap -}}
{{- fail "kafka.bootstrap is required (e.g. my-cluster-kafka-bootstrap.kafka:9093)" -}}
{{- end -}}
{{- if not .Values.postgres.existingSecret -}}
{{- fail "postgres.existingSecret is required: the Secret of the services' database role" -}}
{{- end -}}
{{- if and (not .Values.postgres.uriKey) (not .Values.postgres.host) -}}
{{- fail "postgres.host is required when postgres.uriKey is empty (e.g. my-cluster-rw.db)" -}}
{{- end -}}
{{- if and .Values.migrations.enabled (not .Values.postgres.owner.existingSecret) -}}
{{- fail "postgres.owner.existingSecret is required for the migration Job (CloudNativePG: <cluster>-app)" -}}
{{- end -}}
{{- if hasPrefix "SASL" .Values.kafka.securityProtocol -}}
{{- if or (not .Values.kafka.sasl.username) (not .Values.kafka.sasl.existingSecret) -}}
{{- fail "kafka.sasl.username and kafka.sasl.existingSecret are required with a SASL securityProtocol" -}}
{{- end -}}
{{- end -}}
{{- if and (eq .Values.env "prod") (not .Values.metricsToken.existingSecret) (not (contains "metrics" .Values.allowUnauthenticated)) -}}
{{- fail "metricsToken.existingSecret is required in prod (or allowUnauthenticated: metrics when the network alone guards /metrics)" -}}
{{- end -}}
{{- if and (eq .Values.kafka.topics.create "strimzi") (not .Values.kafka.topics.strimzi.cluster) -}}
{{- fail "kafka.topics.strimzi.cluster is required with kafka.topics.create: strimzi" -}}
{{- end -}}
{{- end -}}

{{/* One database role's Secret as files: (dict "name" "db" "db" .Values.postgres). */}}
{{- define "trustline.dbVolume" -}}
- name: {{ .name }}
  secret:
    secretName: {{ .db.existingSecret }}
    defaultMode: 0440
    items:
      {{- if .db.uriKey }}
      - {key: {{ .db.uriKey }}, path: uri}
      {{- else }}
      - {key: {{ .db.usernameKey }}, path: username}
      - {key: {{ .db.passwordKey }}, path: password}
      {{- end }}
{{- end -}}

{{/* The secret files a pod needs; `owner` adds the schema owner's (the migration Job):
(dict "root" $ "owner" false). */}}
{{- define "trustline.secretVolumes" -}}
{{- $v := .root.Values -}}
{{ include "trustline.dbVolume" (dict "name" "db" "db" $v.postgres) }}
{{- if .owner }}
{{ include "trustline.dbVolume" (dict "name" "db-owner" "db" $v.postgres.owner) }}
{{- end }}
{{- if $v.postgres.ca.existingSecret }}
- name: db-ca
  secret:
    secretName: {{ $v.postgres.ca.existingSecret }}
    defaultMode: 0444
    items: [{key: {{ $v.postgres.ca.key }}, path: ca.crt}]
{{- end }}
{{- if and (hasPrefix "SASL" $v.kafka.securityProtocol) $v.kafka.sasl.existingSecret }}
- name: kafka-sasl
  secret:
    secretName: {{ $v.kafka.sasl.existingSecret }}
    defaultMode: 0440
    items: [{key: {{ $v.kafka.sasl.passwordKey }}, path: password}]
{{- end }}
{{- if $v.kafka.tls.caSecret }}
- name: kafka-ca
  secret:
    secretName: {{ $v.kafka.tls.caSecret }}
    defaultMode: 0444
    items: [{key: {{ $v.kafka.tls.caKey }}, path: ca.crt}]
{{- end }}
{{- if $v.kafka.tls.clientSecret }}
- name: kafka-client
  secret:
    secretName: {{ $v.kafka.tls.clientSecret }}
    defaultMode: 0440
    items:
      - {key: {{ $v.kafka.tls.certKey }}, path: user.crt}
      - {key: {{ $v.kafka.tls.keyKey }}, path: user.key}
{{- end }}
{{- if $v.metricsToken.existingSecret }}
- name: metrics-token
  secret:
    secretName: {{ $v.metricsToken.existingSecret }}
    defaultMode: 0440
    items: [{key: {{ $v.metricsToken.key }}, path: token}]
{{- end }}
{{- if $v.attributionSecret.existingSecret }}
- name: attribution
  secret:
    secretName: {{ $v.attributionSecret.existingSecret }}
    defaultMode: 0440
    items: [{key: {{ $v.attributionSecret.key }}, path: secret}]
{{- end }}
- name: tmp
  emptyDir: {sizeLimit: 64Mi}
{{- end -}}

{{/* Mounts matching trustline.secretVolumes. */}}
{{- define "trustline.secretMounts" -}}
{{- $dir := include "trustline.secretsDir" .root -}}
{{- $v := .root.Values -}}
- {name: db, mountPath: {{ $dir }}/db, readOnly: true}
{{- if .owner }}
- {name: db-owner, mountPath: {{ $dir }}/db-owner, readOnly: true}
{{- end }}
{{- if $v.postgres.ca.existingSecret }}
- {name: db-ca, mountPath: {{ $dir }}/db-ca, readOnly: true}
{{- end }}
{{- if and (hasPrefix "SASL" $v.kafka.securityProtocol) $v.kafka.sasl.existingSecret }}
- {name: kafka-sasl, mountPath: {{ $dir }}/kafka-sasl, readOnly: true}
{{- end }}
{{- if $v.kafka.tls.caSecret }}
- {name: kafka-ca, mountPath: {{ $dir }}/kafka-ca, readOnly: true}
{{- end }}
{{- if $v.kafka.tls.clientSecret }}
- {name: kafka-client, mountPath: {{ $dir }}/kafka-client, readOnly: true}
{{- end }}
{{- if $v.metricsToken.existingSecret }}
- {name: metrics-token, mountPath: {{ $dir }}/metrics-token, readOnly: true}
{{- end }}
{{- if $v.attributionSecret.existingSecret }}
- {name: attribution, mountPath: {{ $dir }}/attribution, readOnly: true}
{{- end }}
- {name: tmp, mountPath: /tmp}
{{- end -}}

{{/* One role's database settings, read from its mounted files:
(dict "root" $ "db" .Values.postgres "prefix" "TRUSTLINE_DATABASE" "volume" "db"). */}}
{{- define "trustline.databaseEnv" -}}
{{- $dir := include "trustline.secretsDir" .root -}}
{{- $v := .root.Values -}}
{{- if .db.uriKey }}
- {name: {{ .prefix }}_URL_FILE, value: {{ $dir }}/{{ .volume }}/uri}
{{- else }}
- {name: {{ .prefix }}_URL, value: {{ printf "postgresql://%s:%v/%s" $v.postgres.host $v.postgres.port $v.postgres.database | quote }}}
- {name: {{ .prefix }}_USER_FILE, value: {{ $dir }}/{{ .volume }}/username}
- {name: {{ .prefix }}_PASSWORD_FILE, value: {{ $dir }}/{{ .volume }}/password}
{{- end }}
{{- end -}}

{{/* Everything a component's container is configured with (services role). */}}
{{- define "trustline.env" -}}
{{- $dir := include "trustline.secretsDir" . -}}
{{- $v := .Values -}}
- {name: TRUSTLINE_ENV, value: {{ $v.env | quote }}}
- {name: TRUSTLINE_STATE_DIR, value: /tmp/trustline}
{{ include "trustline.databaseEnv" (dict "root" . "db" $v.postgres "prefix" "TRUSTLINE_DATABASE" "volume" "db") }}
- {name: TRUSTLINE_DATABASE_SSLMODE, value: {{ $v.postgres.sslmode | quote }}}
{{- if $v.postgres.ca.existingSecret }}
- {name: TRUSTLINE_DATABASE_SSLROOTCERT, value: {{ $dir }}/db-ca/ca.crt}
{{- end }}
- {name: TRUSTLINE_KAFKA_BOOTSTRAP, value: {{ $v.kafka.bootstrap | quote }}}
- {name: TRUSTLINE_KAFKA_SECURITY_PROTOCOL, value: {{ $v.kafka.securityProtocol | quote }}}
{{- if hasPrefix "SASL" $v.kafka.securityProtocol }}
- {name: TRUSTLINE_KAFKA_SASL_MECHANISM, value: {{ $v.kafka.sasl.mechanism | quote }}}
- {name: TRUSTLINE_KAFKA_SASL_USERNAME, value: {{ $v.kafka.sasl.username | quote }}}
- {name: TRUSTLINE_KAFKA_SASL_PASSWORD_FILE, value: {{ $dir }}/kafka-sasl/password}
{{- end }}
{{- if $v.kafka.tls.caSecret }}
- {name: TRUSTLINE_KAFKA_SSL_CA_FILE, value: {{ $dir }}/kafka-ca/ca.crt}
{{- end }}
{{- if $v.kafka.tls.clientSecret }}
- {name: TRUSTLINE_KAFKA_SSL_CERT_FILE, value: {{ $dir }}/kafka-client/user.crt}
- {name: TRUSTLINE_KAFKA_SSL_KEY_FILE, value: {{ $dir }}/kafka-client/user.key}
{{- end }}
- {name: TRUSTLINE_TOPIC_PREFIX, value: {{ $v.kafka.topicPrefix | quote }}}
- {name: TRUSTLINE_CONSUMER_GROUP, value: {{ $v.kafka.consumerGroup | quote }}}
{{- if $v.metricsToken.existingSecret }}
- {name: TRUSTLINE_METRICS_TOKEN_FILE, value: {{ $dir }}/metrics-token/token}
{{- end }}
{{- if $v.attributionSecret.existingSecret }}
- {name: TRUSTLINE_INGEST_ATTRIBUTION_SECRET_FILE, value: {{ $dir }}/attribution/secret}
{{- end }}
- {name: TRUSTLINE_ALLOW_UNAUTHENTICATED, value: {{ $v.allowUnauthenticated | quote }}}
- {name: TRUSTLINE_HEARTBEAT_MAX_AGE_SECONDS, value: {{ $v.heartbeatMaxAgeSeconds | quote }}}
{{- with $v.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The init container that holds a component until the schema is at head. */}}
{{- define "trustline.waitForSchema" -}}
{{- if .Values.waitForSchema.enabled }}
initContainers:
  - name: wait-for-schema
    image: {{ include "trustline.image" . }}
    imagePullPolicy: {{ .Values.image.pullPolicy }}
    command: [trustline]
    args: [migrate, --check, --wait, {{ .Values.waitForSchema.timeoutSeconds | quote }}]
    env: {{- include "trustline.env" . | nindent 6 }}
    securityContext: {{- toYaml .Values.securityContext | nindent 6 }}
    resources:
      requests: {cpu: 10m, memory: 96Mi}
      limits: {memory: 192Mi}
    volumeMounts: {{- include "trustline.secretMounts" (dict "root" . "owner" false) | nindent 6 }}
{{- end }}
{{- end -}}

{{/* Pod-level fields every workload shares. */}}
{{- define "trustline.podSpec" -}}
automountServiceAccountToken: false
enableServiceLinks: false
securityContext: {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- end -}}

{{/* The event topics (shared/topics.py; a chart test keeps the two lists equal). */}}
{{- define "trustline.topicSuffixes" -}}
assets vulnerabilities edr identities cloudconfig incidents
{{- end -}}
