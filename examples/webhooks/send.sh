#!/usr/bin/env bash
# Send this folder's sample deliveries to a leadtime server, each signed the way its sender signs:
# a merged GitHub pull request and its production deploy 12.5 minutes later, a merged GitLab merge
# request, and three pages (PagerDuty, Opsgenie, Alertmanager) that follow the deploy.
#
#   LEADTIME_URL=http://127.0.0.1:8000 GITHUB_SECRET=s1 GITLAB_TOKEN=s2 PAGERDUTY_SECRET=s3 \
#     examples/webhooks/send.sh
#
# The server needs the same secrets: LEADTIME_GITHUB_WEBHOOK_SECRET=s1,
# LEADTIME_GITLAB_WEBHOOK_TOKEN=s2, LEADTIME_PAGERDUTY_WEBHOOK_SECRET=s3. Opsgenie and
# Alertmanager sign nothing: where writes need a token, set LEADTIME_TOKEN (`leadtime token create`).
# Sent twice, every delivery is recognised by its id and stored once.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
url="${LEADTIME_URL:-http://127.0.0.1:8000}"
bearer=()
if [ -n "${LEADTIME_TOKEN:-}" ]; then bearer=(-H "Authorization: Bearer $LEADTIME_TOKEN"); fi

# HMAC-SHA256 of a file's bytes with a secret, in hex.
hmac() { openssl dgst -sha256 -hmac "$1" < "$2" | sed 's/^.*= //'; }

body="$here/github-pull-request-merged.json"
curl -fsS "$url/webhooks/github" -H 'Content-Type: application/json' \
  -H 'X-GitHub-Event: pull_request' -H 'X-GitHub-Delivery: sample-pull-request-42' \
  -H "X-Hub-Signature-256: sha256=$(hmac "$GITHUB_SECRET" "$body")" --data-binary "@$body"
echo

body="$here/github-deployment-status.json"
curl -fsS "$url/webhooks/github" -H 'Content-Type: application/json' \
  -H 'X-GitHub-Event: deployment_status' -H 'X-GitHub-Delivery: sample-deployment-1150' \
  -H "X-Hub-Signature-256: sha256=$(hmac "$GITHUB_SECRET" "$body")" --data-binary "@$body"
echo

body="$here/gitlab-merge-request-merged.json"
curl -fsS "$url/webhooks/gitlab" -H 'Content-Type: application/json' \
  -H 'X-Gitlab-Event: Merge Request Hook' -H 'Idempotency-Key: sample-merge-request-7' \
  -H "X-Gitlab-Token: $GITLAB_TOKEN" --data-binary "@$body"
echo

body="$here/pagerduty-incident-triggered.json"
curl -fsS "$url/webhooks/pagerduty" -H 'Content-Type: application/json' \
  -H 'X-Webhook-Id: sample-incident-PGR0VU2' \
  -H "X-PagerDuty-Signature: v1=$(hmac "$PAGERDUTY_SECRET" "$body")" --data-binary "@$body"
echo

curl -fsS "$url/webhooks/opsgenie" -H 'Content-Type: application/json' "${bearer[@]}" \
  --data-binary "@$here/opsgenie-alert-created.json"
echo

curl -fsS "$url/webhooks/alertmanager" -H 'Content-Type: application/json' "${bearer[@]}" \
  --data-binary "@$here/alertmanager-firing.json"
echo
