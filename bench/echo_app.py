"""The baseline for bench/ingest.py: a bare ASGI app that reads a multipart upload and echoes
the file part back. It does the transport work ingest cannot avoid and nothing else."""


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    body = b"".join(chunks)
    content_type = dict(scope["headers"]).get(b"content-type", b"")
    boundary = b"--" + content_type.split(b"boundary=")[-1]
    file_part = next(p for p in body.split(boundary) if b'name="fileToUpload"' in p)
    payload = file_part.split(b"\r\n\r\n", 1)[1][:-2]
    headers = [(b"content-type", b"image/jpeg"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
