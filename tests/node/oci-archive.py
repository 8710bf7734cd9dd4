"""Writes a one-layer OCI image archive from a directory, for `ctr images import`.

    python3 oci-archive.py --name localhost/x/pause:3.4 --entrypoint /pause ROOTFS OUT.tar

The node tier's images (the pause sandbox and a static busybox) are a binary or two each: an OCI
image layout in a tar (oci-layout, index.json, blobs/sha256/...) is all containerd needs, with no
image builder. The archive is reproducible: entries sorted, owned by root, mtime 0, gzip without
a timestamp, so the same files give the same image digest.
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import tarfile


def normalized(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = 0
    return info


def layer_tar(rootfs: str) -> bytes:
    """The directory's contents as an uncompressed tar, paths relative to its root."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for parent, dirs, files in os.walk(rootfs):
            dirs.sort()
            for name in sorted(dirs + files):
                path = os.path.join(parent, name)
                arcname = os.path.relpath(path, rootfs)
                tar.add(path, arcname=arcname, recursive=False, filter=normalized)
    return buffer.getvalue()


def descriptor(media_type: str, blob: bytes, **extra) -> dict:
    return {
        "mediaType": media_type,
        "digest": "sha256:" + hashlib.sha256(blob).hexdigest(),
        "size": len(blob),
        **extra,
    }


def add_file(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = normalized(tarfile.TarInfo(name))
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def write_archive(name: str, entrypoint: list, user: str, rootfs: str, out: str) -> None:
    layer = layer_tar(rootfs)
    compressed = gzip.compress(layer, mtime=0)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Entrypoint": entrypoint, "User": user, "WorkingDir": "/"},
            "rootfs": {
                "type": "layers",
                "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()],
            },
            "history": [{"created_by": f"tests/node/oci-archive.py {name}"}],
        },
        sort_keys=True,
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": descriptor("application/vnd.oci.image.config.v1+json", config),
            "layers": [descriptor("application/vnd.oci.image.layer.v1.tar+gzip", compressed)],
        },
        sort_keys=True,
    ).encode()
    # containerd names the imported image after io.containerd.image.name; other tools read the
    # OCI ref name, which may be a full reference.
    index = json.dumps(
        {
            "schemaVersion": 2,
            "manifests": [
                descriptor(
                    "application/vnd.oci.image.manifest.v1+json",
                    manifest,
                    annotations={
                        "io.containerd.image.name": name,
                        "org.opencontainers.image.ref.name": name,
                    },
                    platform={"architecture": "amd64", "os": "linux"},
                )
            ],
        },
        sort_keys=True,
    ).encode()
    with tarfile.open(out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        add_file(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        add_file(tar, "index.json", index)
        for blob in sorted((config, manifest, compressed), key=lambda b: hashlib.sha256(b).hexdigest()):
            add_file(tar, "blobs/sha256/" + hashlib.sha256(blob).hexdigest(), blob)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True, help="full image reference, e.g. localhost/x/y:tag")
    parser.add_argument("--entrypoint", required=True, action="append", help="repeat for arguments")
    parser.add_argument("--user", default="0", help="numeric user[:group] the image runs as")
    parser.add_argument("rootfs")
    parser.add_argument("out")
    args = parser.parse_args()
    write_archive(args.name, args.entrypoint, args.user, args.rootfs, args.out)


if __name__ == "__main__":
    main()
