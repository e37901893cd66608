"""llama-server as a peer for bench/peers.sh and bench/busy.sh: start a fresh
one (nothing cached from an earlier run) on a free port of 127.0.0.1, wait for
its /health, and write an llm-eval registry whose one model, peer_server,
drives it through the openai backend with 8 concurrent requests. Not here:
what is timed or compared (each script's own)."""
import contextlib, os, socket, subprocess, time, urllib.request


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


@contextlib.contextmanager
def server(who, peers, model, threads, fa, ctx, log, reg, env):
    """Yields the running server's Popen; reg/models/peer_server.yaml names it.
    -np 8 slots of ctx tokens each, -t and -tb threads, flash attention fa.
    The server caps a slot at the model's training context (512 for the
    generated models, llama architecture); llm-eval uses max_length ctx on
    it, so the server is told the same."""
    port = free_port()
    slog = open(log, "w")
    srv = subprocess.Popen([peers + "/llama-server", "-m", model, "--host", "127.0.0.1",
                            "--port", str(port), "-np", "8", "-c", str(8 * ctx), "-t", str(threads),
                            "-tb", str(threads), "--alias", "tiny", "-fa", fa,
                            "--override-kv", "llama.context_length=int:%d" % ctx],
                           stdout=slog, stderr=subprocess.STDOUT, env=env)
    try:
        for _ in range(600):
            try:
                if urllib.request.urlopen("http://127.0.0.1:%d/health" % port, timeout=1).status == 200:
                    break
            except Exception:
                time.sleep(0.2)
        else:
            raise SystemExit("%s: llama-server did not start (see %s)" % (who, log))
        os.makedirs(reg + "/models", exist_ok=True)
        with open(reg + "/models/peer_server.yaml", "w") as f:
            f.write("name: peer_server\ndescription: llama-server on the tiny model (%s)\n"
                    "hf_repo: none/none\ncategories: [mathematics]\nbackend: openai\n"
                    "backends:\n  openai:\n    model: tiny\n    base_url: http://127.0.0.1:%d/v1\n"
                    "    num_concurrent: 8\n" % (who, port))
        yield srv
    finally:
        srv.terminate()
        srv.wait()
        slog.close()
