#!/bin/sh
# SSH_ASKPASS for OpenSSH clients in the sshd tests (SSH_ASKPASS_REQUIRE=force): answers each
# keyboard-interactive prompt by its text, from ASK_PASSWORD and ASK_CODE, and records the prompt.
echo "$1" >> "${ASK_LOG:-/dev/null}"
case "$1" in
*"erification code"*) printf '%s\n' "$ASK_CODE" ;;
*assword*) printf '%s\n' "$ASK_PASSWORD" ;;
*) exit 1 ;;
esac
