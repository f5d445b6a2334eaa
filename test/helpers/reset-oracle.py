# A TCP service that tells, for each connection, whether the client ended it with a FIN
# ("end") or a reset ("reset"), and how many bytes came first: Python's recv reports a reset
# as an error, where Node (libuv before 1.52) can report it as a clean end.
import json, socket, sys, threading

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 0))
server.listen(128)
print(json.dumps({"port": server.getsockname()[1]}), flush=True)

def serve(conn):
    got = 0
    outcome = "end"
    try:
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            got += len(chunk)
    except ConnectionResetError:
        outcome = "reset"
    print(json.dumps({"outcome": outcome, "bytes": got}), flush=True)
    conn.close()

while True:
    conn, _ = server.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
