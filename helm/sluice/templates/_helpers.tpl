{{/* Names ------------------------------------------------------------------------------------- */}}

{{- define "sluice.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "sluice.fullname" -}}
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

{{/* "<fullname>-<suffix>", within the 63 characters of a label value / DNS name, or within
     `maxLength` when given (the full name loses its tail, the suffix stays). */}}
{{- define "sluice.componentName" -}}
{{- $full := include "sluice.fullname" .root }}
{{- $maxLength := int (default 63 .maxLength) }}
{{- printf "%s-%s" ($full | trunc (int (sub (sub $maxLength 1) (len .suffix)))) .suffix | trimSuffix "-" }}
{{- end }}

{{- define "sluice.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "sluice.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sluice.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "sluice.secretName" -}}
{{- include "sluice.fullname" . }}
{{- end }}

{{- define "sluice.apiKeysSecretName" -}}
{{- if .Values.apiKeys.existingSecret }}
{{- .Values.apiKeys.existingSecret }}
{{- else }}
{{- include "sluice.componentName" (dict "root" . "suffix" "api-keys") }}
{{- end }}
{{- end }}

{{/* Labels ------------------------------------------------------------------------------------ */}}

{{- define "sluice.labels" -}}
helm.sh/chart: {{ include "sluice.chart" . }}
app.kubernetes.io/name: {{ include "sluice.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: sluice
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Labels of one component: (dict "root" $ "component" "gateway") */}}
{{- define "sluice.componentLabels" -}}
{{ include "sluice.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "sluice.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sluice.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Image -------------------------------------------------------------------------------------- */}}

{{- define "sluice.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Validation: problems the schema cannot see (they span several values). --------------------- */}}

{{- define "sluice.validate" -}}
{{- $problems := list }}
{{- if not .Values.image.repository }}
{{- $problems = append $problems (printf "image.repository is required: no public Sluice image exists. Build it from the repository's Dockerfile and push it to a registry your cluster can pull from, e.g.\n      docker build -t registry.example.com/sluice:%s . && docker push registry.example.com/sluice:%s\n    then install with --set image.repository=registry.example.com/sluice (helm/sluice/README.md, \"The image\")" .Chart.AppVersion .Chart.AppVersion) }}
{{- end }}
{{- if eq (len .Values.kafka.brokers) 0 }}
{{- $problems = append $problems "kafka.brokers must name at least one broker (host:port)" }}
{{- end }}
{{- if and (ne .Values.kafka.sasl.mechanism "none") (not .Values.kafka.sasl.existingSecret) (or (not .Values.kafka.sasl.username) (not .Values.kafka.sasl.password)) }}
{{- $problems = append $problems (printf "kafka.sasl.mechanism=%s needs kafka.sasl.existingSecret or kafka.sasl.username and kafka.sasl.password" .Values.kafka.sasl.mechanism) }}
{{- end }}
{{- if and (or .Values.gateway.enabled .Values.delivery.enabled) (not .Values.redis.url) (not .Values.redis.existingSecret) }}
{{- $problems = append $problems "redis.url or redis.existingSecret is required (idempotency, global rate limit, deduplication)" }}
{{- end }}
{{- if and (or .Values.gateway.enabled .Values.delivery.enabled) (not .Values.secretsKeys.value) (not .Values.secretsKeys.existingSecret) }}
{{- $problems = append $problems "secretsKeys.existingSecret or secretsKeys.value is required (SLUICE_SECRETS_KEYS: k1:$(openssl rand -base64 32))" }}
{{- end }}
{{- if and .Values.gateway.enabled (not .Values.apiKeys.existingSecret) (eq (len .Values.apiKeys.lines) 0) }}
{{- $problems = append $problems "apiKeys.existingSecret or apiKeys.lines is required (create keys with `sluice keys create`)" }}
{{- end }}
{{- if gt (int .Values.topics.minInsyncReplicas) (int .Values.topics.replicationFactor) }}
{{- $problems = append $problems (printf "topics.minInsyncReplicas (%d) cannot exceed topics.replicationFactor (%d)" (int .Values.topics.minInsyncReplicas) (int .Values.topics.replicationFactor)) }}
{{- end }}
{{- if and .Values.log.enabled (not .Values.log.database.url) (not .Values.log.database.existingSecret) }}
{{- $problems = append $problems "log.enabled needs log.database.url or log.database.existingSecret (the delivery log's PostgreSQL, postgres://user:password@host:5432/database)" }}
{{- end }}
{{- range $component := list "gateway" "delivery" "log" }}
{{- $values := index $.Values $component }}
{{- $grace := include "sluice.terminationGracePeriodSeconds" $values | int }}
{{- $needed := add $values.shutdown.preStopSleepSeconds $values.shutdown.graceSeconds }}
{{- if le $grace (int $needed) }}
{{- $problems = append $problems (printf "%s.terminationGracePeriodSeconds (%d) must exceed shutdown.preStopSleepSeconds + shutdown.graceSeconds (%d), or Kubernetes kills the process while it drains" $component $grace (int $needed)) }}
{{- end }}
{{- if and $values.autoscaling $values.autoscaling.enabled (gt (int $values.autoscaling.minReplicas) (int $values.autoscaling.maxReplicas)) }}
{{- $problems = append $problems (printf "%s.autoscaling.minReplicas cannot exceed maxReplicas" $component) }}
{{- end }}
{{- end }}
{{- with .Values.delivery.keda }}
{{- if .enabled }}
{{- if gt (int .maxReplicas) (int $.Values.topics.eventsPartitions) }}
{{- $problems = append $problems (printf "delivery.keda.maxReplicas (%d) above topics.eventsPartitions (%d): the extra workers would own no partition" (int .maxReplicas) (int $.Values.topics.eventsPartitions)) }}
{{- end }}
{{- if gt (int .minReplicas) (int .maxReplicas) }}
{{- $problems = append $problems "delivery.keda.minReplicas cannot exceed maxReplicas" }}
{{- end }}
{{- if and (eq .trigger "prometheus") (not .prometheus.serverAddress) }}
{{- $problems = append $problems "delivery.keda.trigger=prometheus needs delivery.keda.prometheus.serverAddress" }}
{{- end }}
{{- end }}
{{- end }}
{{- with .Values.schemas.import }}
{{- if .enabled }}
{{- if not $.Values.topicsJob.enabled }}
{{- $problems = append $problems "schemas.import.enabled needs topicsJob.enabled: the topics Job imports the schemas" }}
{{- end }}
{{- if and (not .examples) (not .configMap) (eq (len .files) 0) }}
{{- $problems = append $problems "schemas.import.enabled needs something to import: schemas.import.examples, schemas.import.configMap or schemas.import.files" }}
{{- end }}
{{- end }}
{{- end }}
{{- if $problems }}
{{- fail (printf "\n  - %s" (join "\n  - " $problems)) }}
{{- end }}
{{- end }}

{{/* The pod's grace: explicit, or preStop sleep + drain + 10 s for the producer flush and exit. */}}
{{- define "sluice.terminationGracePeriodSeconds" -}}
{{- if kindIs "invalid" .terminationGracePeriodSeconds }}
{{- add .shutdown.preStopSleepSeconds .shutdown.graceSeconds 10 }}
{{- else }}
{{- .terminationGracePeriodSeconds }}
{{- end }}
{{- end }}

{{/* Topology spread of one component, (dict "root" $ "component" "gateway" "constraints" list):
     an entry without a labelSelector selects this release's pods of this component, never another
     release's (a selector without the instance label would count them). */}}
{{- define "sluice.topologySpreadConstraints" -}}
{{- range .constraints }}
{{- $constraint := deepCopy . }}
{{- if not (hasKey $constraint "labelSelector") }}
{{- $_ := set $constraint "labelSelector" (dict "matchLabels" (include "sluice.selectorLabels" $ | fromYaml)) }}
{{- end }}
- {{ toYaml $constraint | nindent 2 | trim }}
{{- end }}
{{- end }}

{{/* Hook annotations of the topics Job and of what it brings along (weight below the Job's 0, so
     they exist before it). Deleted once the hooks succeeded (also when the Job fails: Helm then
     deletes the hooks before it by their hook-succeeded policy), so no credential outlives its use. */}}
{{- define "sluice.topicsHookAnnotations" -}}
helm.sh/hook: {{ join "," .root.Values.topicsJob.hooks }}
helm.sh/hook-weight: {{ .weight | quote }}
helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
{{- end }}

{{/* Hook annotations of the log's migrate Job and of what it brings along, as for the topics Job:
     before install and before every upgrade, so the schema is there before new pods use it. */}}
{{- define "sluice.logMigrateHookAnnotations" -}}
helm.sh/hook: pre-install,pre-upgrade
helm.sh/hook-weight: {{ .weight | quote }}
helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
{{- end }}

{{/* The folder the topics Job imports schemas from: the existing ConfigMap and the inline files. */}}
{{- define "sluice.schemasDir" -}}
/etc/sluice/schemas
{{- end }}

{{/* Whether the topics Job mounts a schemas folder (a ConfigMap or inline files to import). */}}
{{- define "sluice.schemasMounted" -}}
{{- with .Values.schemas.import }}
{{- if and .enabled (or .configMap (gt (len .files) 0)) }}true{{ end }}
{{- end }}
{{- end }}

{{/* One container of the topics Job: (dict "root" $ "name" "topics" "args" (list …) "saslSecret" name).
     Both steps get the same Kafka, topic and registry settings as the pods. */}}
{{- define "sluice.topicsJobContainer" -}}
{{- $root := .root -}}
- name: {{ .name }}
  image: {{ include "sluice.image" $root }}
  imagePullPolicy: {{ $root.Values.image.pullPolicy }}
  args: {{ toJson .args }}
  env:
    {{- include "sluice.env.kafka" (dict "root" $root "saslSecret" .saslSecret) | nindent 4 }}
    {{- with include "sluice.env.config" (dict "global" $root.Values.config "component" dict) | trim }}
    {{- . | nindent 4 }}
    {{- end }}
    {{- with $root.Values.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with $root.Values.extraEnvFrom }}
  envFrom:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  resources:
    {{- toYaml $root.Values.topicsJob.resources | nindent 4 }}
  securityContext:
    {{- toYaml $root.Values.containerSecurityContext | nindent 4 }}
  volumeMounts:
    {{- include "sluice.volumeMounts" $root | nindent 4 }}
    {{- if .schemas }}
    - name: schemas
      mountPath: {{ include "sluice.schemasDir" $root }}
      readOnly: true
    {{- end }}
{{- end }}

{{/* Environment ------------------------------------------------------------------------------- */}}

{{/* Kafka and topics: what every process (and the topics Job) needs. (dict "root" $ "saslSecret" name):
     the Secret holding inline SASL credentials; the topics Job has its own, see topics-job.yaml. */}}
{{- define "sluice.env.kafka" -}}
{{- $saslSecret := .saslSecret }}
{{- with .root }}
- name: SLUICE_KAFKA_BROKERS
  value: {{ join "," .Values.kafka.brokers | quote }}
- name: SLUICE_KAFKA_TLS
  value: {{ .Values.kafka.tls.enabled | quote }}
- name: SLUICE_KAFKA_SASL_MECHANISM
  value: {{ .Values.kafka.sasl.mechanism | quote }}
{{- if ne .Values.kafka.sasl.mechanism "none" }}
- name: SLUICE_KAFKA_SASL_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ default $saslSecret .Values.kafka.sasl.existingSecret }}
      key: {{ ternary .Values.kafka.sasl.usernameKey "kafka-sasl-username" (ne .Values.kafka.sasl.existingSecret "") }}
- name: SLUICE_KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ default $saslSecret .Values.kafka.sasl.existingSecret }}
      key: {{ ternary .Values.kafka.sasl.passwordKey "kafka-sasl-password" (ne .Values.kafka.sasl.existingSecret "") }}
{{- end }}
{{- if .Values.kafka.tls.caSecret.name }}
- name: NODE_EXTRA_CA_CERTS
  value: /etc/sluice/kafka-ca/{{ .Values.kafka.tls.caSecret.key }}
{{- end }}
- name: SLUICE_EVENTS_TOPIC
  value: {{ .Values.topics.events | quote }}
- name: SLUICE_EVENTS_PARTITIONS
  value: {{ .Values.topics.eventsPartitions | int64 | quote }}
- name: SLUICE_EVENTS_RETENTION_MS
  value: {{ .Values.topics.eventsRetention | quote }}
- name: SLUICE_RETRY_TOPIC_PREFIX
  value: {{ .Values.topics.retryTopicPrefix | quote }}
- name: SLUICE_RETRY_PARTITIONS
  value: {{ .Values.topics.retryPartitions | int64 | quote }}
- name: SLUICE_DLQ_TOPIC
  value: {{ .Values.topics.dlq | quote }}
- name: SLUICE_SUBSCRIPTIONS_TOPIC
  value: {{ .Values.topics.subscriptions | quote }}
- name: SLUICE_SCHEMAS_TOPIC
  value: {{ .Values.topics.schemas | quote }}
- name: SLUICE_SOURCES_TOPIC
  value: {{ .Values.topics.sources | quote }}
- name: SLUICE_ATTEMPTS_TOPIC
  value: {{ .Values.topics.attempts | quote }}
- name: SLUICE_ATTEMPTS_RETENTION_MS
  value: {{ .Values.topics.attemptsRetention | quote }}
{{- with .Values.schemaRegistry }}
{{- if .url }}
- name: SLUICE_SCHEMA_REGISTRY_URL
  value: {{ .url | quote }}
{{- end }}
{{- if and .existingSecret .basicAuthUserInfoKey }}
- name: SLUICE_SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO
  valueFrom:
    secretKeyRef:
      name: {{ .existingSecret }}
      key: {{ .basicAuthUserInfoKey }}
{{- end }}
{{- if and .existingSecret .bearerTokenKey }}
- name: SLUICE_SCHEMA_REGISTRY_BEARER_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ .existingSecret }}
      key: {{ .bearerTokenKey }}
{{- end }}
{{- end }}
- name: SLUICE_TOPIC_REPLICATION_FACTOR
  value: {{ .Values.topics.replicationFactor | int64 | quote }}
- name: SLUICE_TOPIC_MIN_INSYNC_REPLICAS
  value: {{ .Values.topics.minInsyncReplicas | int64 | quote }}
- name: SLUICE_RETRY_SCHEDULE
  value: {{ .Values.retrySchedule | quote }}
{{- end }}
{{- end }}

{{/* Redis and the secrets keyring: the gateway and the delivery workers. */}}
{{- define "sluice.env.services" -}}
- name: SLUICE_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ default (include "sluice.secretName" .) .Values.redis.existingSecret }}
      key: {{ ternary .Values.redis.urlKey "redis-url" (ne .Values.redis.existingSecret "") }}
- name: SLUICE_SECRETS_KEYS
  valueFrom:
    secretKeyRef:
      name: {{ default (include "sluice.secretName" .) .Values.secretsKeys.existingSecret }}
      key: {{ ternary .Values.secretsKeys.key "secrets-keys" (ne .Values.secretsKeys.existingSecret "") }}
{{- end }}

{{/* The delivery log's database: (dict "root" $ "secret" name), the Secret holding an inline URL
     (the release's, or the migrate Job's own hook Secret). A URL carries a password: never a value. */}}
{{- define "sluice.env.logDatabase" -}}
{{- with .root.Values.log.database -}}
- name: SLUICE_LOG_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ default $.secret .existingSecret }}
      key: {{ ternary .urlKey "log-database-url" (ne .existingSecret "") }}
{{- end }}
{{- end }}

{{/* Pass-through settings: the global map merged with the component's (the component wins). */}}
{{- define "sluice.env.config" -}}
{{- $merged := merge (deepCopy (default dict .component)) (deepCopy (default dict .global)) }}
{{- range $name := keys $merged | sortAlpha }}
- name: {{ $name }}
  value: {{ include "sluice.envValue" (index $merged $name) | quote }}
{{- end }}
{{- end }}

{{/* A value as an env string. Helm reads YAML numbers as float64, which print as 1e+06: whole
     numbers are printed as integers instead. */}}
{{- define "sluice.envValue" -}}
{{- if and (kindIs "float64" .) (eq (float64 (int64 .)) .) }}
{{- int64 . }}
{{- else }}
{{- toString . }}
{{- end }}
{{- end }}

{{/* Volumes every Sluice pod has: a writable /tmp (the root filesystem is read-only) and the Kafka CA. */}}
{{- define "sluice.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- if .Values.kafka.tls.caSecret.name }}
- name: kafka-ca
  secret:
    secretName: {{ .Values.kafka.tls.caSecret.name }}
    items:
      - key: {{ .Values.kafka.tls.caSecret.key }}
        path: {{ .Values.kafka.tls.caSecret.key }}
{{- end }}
{{- end }}

{{- define "sluice.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if .Values.kafka.tls.caSecret.name }}
- name: kafka-ca
  mountPath: /etc/sluice/kafka-ca
  readOnly: true
{{- end }}
{{- end }}

{{/* Rolls the pods when a Secret the chart manages changes (the processes read them at start). */}}
{{- define "sluice.checksums" -}}
checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}

{{/* NetworkPolicy egress rules shared by the components: DNS and Kafka; Redis; PostgreSQL; the
     schema registry. Callers trim them. */}}
{{- define "sluice.networkPolicy.egressDns" -}}
{{- if .Values.networkPolicy.egress.dns }}
- to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: kube-system
      podSelector:
        matchLabels:
          k8s-app: kube-dns
  ports:
    - protocol: UDP
      port: 53
    - protocol: TCP
      port: 53
{{- end }}
{{- end }}

{{- define "sluice.networkPolicy.egressCommon" -}}
{{- $egress := .Values.networkPolicy.egress }}
{{- include "sluice.networkPolicy.egressDns" . }}
- ports:
    {{- range $egress.kafka.ports }}
    - protocol: TCP
      port: {{ . }}
    {{- end }}
  {{- with $egress.kafka.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}

{{- define "sluice.networkPolicy.egressRedis" -}}
- ports:
    {{- range .Values.networkPolicy.egress.redis.ports }}
    - protocol: TCP
      port: {{ . }}
    {{- end }}
  {{- with .Values.networkPolicy.egress.redis.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}

{{- define "sluice.networkPolicy.egressPostgres" -}}
- ports:
    {{- range .Values.networkPolicy.egress.postgres.ports }}
    - protocol: TCP
      port: {{ . }}
    {{- end }}
  {{- with .Values.networkPolicy.egress.postgres.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}

{{/* Egress to the external schema registry of schemaRegistry.url, on the given ports or else the
     URL's own (443 for https, 80 for http). Empty without a URL: Sluice's own registry is Kafka. */}}
{{- define "sluice.networkPolicy.egressSchemaRegistry" -}}
{{- $egress := .Values.networkPolicy.egress.schemaRegistry }}
{{- with .Values.schemaRegistry.url }}
{{- $url := urlParse . }}
{{- $ports := $egress.ports }}
{{- if not $ports }}
{{- $port := regexFind ":[0-9]+$" $url.host | trimPrefix ":" }}
{{- $ports = list (default (ternary "443" "80" (eq $url.scheme "https")) $port | int) }}
{{- end }}
- ports:
    {{- range $ports }}
    - protocol: TCP
      port: {{ . }}
    {{- end }}
  {{- with $egress.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end }}
