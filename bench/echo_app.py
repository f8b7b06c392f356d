"""The floor for the gateway benchmarks: a bare ASGI app that reads a multipart upload and echoes
the file part back. It does the transport work ingest cannot avoid and nothing else: the body is
joined once and the file part found in place (splitting the body on its boundary copied 15 MB
three more times, a third of what this app cost)."""


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
    boundary = b"\r\n--" + content_type.split(b"boundary=")[-1]
    start = body.index(b"\r\n\r\n", body.index(b'name="fileToUpload"')) + 4
    payload = body[start : body.index(boundary, start)]
    headers = [(b"content-type", b"image/jpeg"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
