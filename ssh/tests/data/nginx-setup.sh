# Sourced (sh) by the web-login end-to-end test inside its private namespace, after
# sshd-setup.sh (which installed pam_gatehouse.so, the NSS module and the pam-auth-update
# profile and started gatehoused): Debian's nginx with libnginx-mod-http-auth-pam on
# 127.0.0.1:$WEB_PORT, master as root and one worker as www-data, so PAM runs as www-data and
# gatehoused sees uid 33 ([callers] web).
# - /etc/pam.d/nginx (the module's default service name; mapped to protocol web): Debian's
#   common-auth and common-account, as an admin would write it;
# - / asks PAM service nginx; /as-sshd/ asks PAM service sshd (protocol ssh), which www-data
#   may not check.
# In: T, WEB_PORT. Out: NGINX (the master's pid; the caller stops it), $T/nginx/error.log.
set -eu
N="$T/nginx"
mkdir -p "$N" /run/nginx-tmp
printf '@include common-auth\n@include common-account\n' > /etc/pam.d/nginx
# The document root must be readable by www-data ($T is root's 0700).
mkdir -p /srv/www/as-sshd
echo "portal page" > /srv/www/index.html
echo "portal page" > /srv/www/as-sshd/index.html
cat > "$N/nginx.conf" <<EOF
load_module /usr/lib/nginx/modules/ngx_http_auth_pam_module.so;
user www-data;
worker_processes 1;
daemon off;
pid $N/nginx.pid;
error_log $N/error.log info;
events { worker_connections 64; }
http {
    access_log $N/access.log;
    client_body_temp_path /run/nginx-tmp/body;
    proxy_temp_path /run/nginx-tmp/proxy;
    fastcgi_temp_path /run/nginx-tmp/fastcgi;
    uwsgi_temp_path /run/nginx-tmp/uwsgi;
    scgi_temp_path /run/nginx-tmp/scgi;
    server {
        listen 127.0.0.1:$WEB_PORT;
        root /srv/www;
        location / {
            auth_pam "gatehouse";
            auth_pam_service_name "nginx";
        }
        location /as-sshd/ {
            auth_pam "gatehouse";
            auth_pam_service_name "sshd";
        }
    }
}
EOF
/usr/sbin/nginx -c "$N/nginx.conf" -e "$N/error.log" &
NGINX=$!
for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$WEB_PORT/" && break; sleep 0.05; done
