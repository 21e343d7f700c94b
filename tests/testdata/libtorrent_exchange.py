"""Two libtorrent sessions exchange one file through a tracker.

Usage: libtorrent_exchange.py TRACKER_URL LISTEN_HOST WORKDIR

The torrent is private, so libtorrent uses no DHT, PEX or LSD: the tracker is the only way the
leecher can find the seeder. DHT, LSD, UPnP and NAT-PMP are switched off as well. Prints one JSON
line: {"info_hash": hex, "sha1_ok": bool, "seconds": float} and exits 0 on success.
"""
import hashlib
import json
import os
import sys
import time

import libtorrent as lt

url, host, work = sys.argv[1], sys.argv[2], sys.argv[3]
DEADLINE = time.time() + 60

seed_dir = os.path.join(work, "seed")
leech_dir = os.path.join(work, "leech")
os.makedirs(seed_dir)
os.makedirs(leech_dir)
payload = os.urandom(384 * 1024 + 123)
with open(os.path.join(seed_dir, "payload.bin"), "wb") as f:
    f.write(payload)

fs = lt.file_storage()
lt.add_files(fs, os.path.join(seed_dir, "payload.bin"))
ct = lt.create_torrent(fs, 16384)
ct.add_tracker(url)
ct.set_priv(True)
lt.set_piece_hashes(ct, seed_dir)
info = lt.torrent_info(ct.generate())
listen = f"[{host}]:0" if ":" in host else f"{host}:0"


def session():
    return lt.session({
        "listen_interfaces": listen,
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "allow_multiple_connections_per_ip": True,
        "announce_to_all_trackers": True,
        "alert_mask": lt.alert.category_t.all_categories,
    })


def wait_for(ses, predicate, what):
    while time.time() < DEADLINE:
        ses.wait_for_alert(500)
        for a in ses.pop_alerts():
            if isinstance(a, (lt.tracker_error_alert,)):
                print(f"{what}: tracker error: {a.message()}", file=sys.stderr)
            if predicate(a):
                return a
    raise SystemExit(f"timed out waiting for {what}")


def add(ses, save_path):
    p = lt.add_torrent_params()
    p.ti = lt.torrent_info(info)
    p.save_path = save_path
    return ses.add_torrent(p)


started = time.time()
seeder = session()
seed_handle = add(seeder, seed_dir)
# The seeder must be known to the tracker before the leecher asks for peers.
wait_for(seeder, lambda a: isinstance(a, lt.tracker_reply_alert), "seeder announce")

leecher = session()
leech_handle = add(leecher, leech_dir)
while time.time() < DEADLINE:
    for s in (seeder, leecher):
        s.wait_for_alert(100)
        s.pop_alerts()
    if leech_handle.status().is_seeding:
        break
else:
    raise SystemExit("timed out waiting for the download")

# libtorrent sends "completed" with the first announce after the download. Its announces to one
# tracker are sequential, so once a re-announce forced now (past the tracker's min interval) is
# answered, the tracker has counted the completion.
leech_handle.force_reannounce(0, -1, lt.reannounce_flags_t.ignore_min_interval)
wait_for(leecher, lambda a: isinstance(a, lt.tracker_reply_alert), "completion announce")

# What the disk threads still hold goes to the file before it is read.
leech_handle.flush_cache()
wait_for(leecher, lambda a: isinstance(a, lt.cache_flushed_alert), "cache flush")

with open(os.path.join(leech_dir, "payload.bin"), "rb") as f:
    got = f.read()
first_difference = next((i for i, (a, b) in enumerate(zip(got, payload)) if a != b), None)
print(json.dumps({
    "info_hash": str(info.info_hashes().v1),
    "sha1_ok": hashlib.sha1(got).digest() == hashlib.sha1(payload).digest(),
    # Why, when it is not: the length read and the first byte that differs.
    "bytes": len(got),
    "expected_bytes": len(payload),
    "first_difference": first_difference,
    "seconds": round(time.time() - started, 2),
}))
