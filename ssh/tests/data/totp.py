#!/usr/bin/python3
"""TOTP code (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits, as policy/src/totp.rs) for a base32
secret at the current step plus OFFSET steps. Usage: totp.py SECRET [OFFSET]"""
import base64
import hashlib
import hmac
import struct
import sys
import time

secret = sys.argv[1].strip().upper()
offset = int(sys.argv[2]) if len(sys.argv) > 2 else 0
key = base64.b32decode(secret + "=" * (-len(secret) % 8))
step = int(time.time()) // 30 + offset
mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
o = mac[-1] & 0x0F
code = (struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF) % 1000000
print(f"{code:06d}")
