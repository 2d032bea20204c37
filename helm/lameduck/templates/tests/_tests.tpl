{{/* Named templates of the `helm test` pods. */}}
{{/*
A bash function for the `helm test` pods: get PORT PATH asks http://$host:PORT/PATH over /dev/tcp (the agent image
has bash and no curl), prints the status line and the body, and succeeds on 200 only. $host is the caller's.
*/}}
{{- define "lameduck.test.httpGet" -}}
get() { # PORT PATH
  exec 3<>"/dev/tcp/$host/$1" || { echo "cannot connect to $host:$1"; return 1; }
  printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$2" "$host" >&3
  local status; IFS= read -r -t 5 status <&3
  local body; body=$(timeout 5 cat <&3 2>/dev/null || true)
  exec 3<&-
  echo "GET :$1$2 -> ${status%$'\r'} ${body##*$'\r\n'}"
  case "$status" in *" 200 "*) return 0 ;; *) return 1 ;; esac
}
{{- end -}}

{{/* The annotations that make an object a `helm test` hook, replaced by the next run and deleted after a pass. */}}
{{- define "lameduck.test.hook" -}}
helm.sh/hook: test
helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
{{- end -}}
