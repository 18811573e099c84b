# Shared by the benchmark scripts (sourced): one server at a time in
# $SERVER_PID, stopped by pid; $PORT is where it listens.

SERVER_PID=""
cleanup() {
    if [[ -n "$SERVER_PID" ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# True once the server on port $1 (default $PORT) answers PING.
ping_ok() {
    local line="" port=${1:-$PORT}
    exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
    printf 'PING\r\n' >&3
    read -r -t 1 line <&3 || true
    exec 3<&- 3>&-
    [[ "$line" == +PONG* ]]
}

# Waits (up to 5 s) for the server on $PORT.
wait_up() {
    for _ in $(seq 50); do ping_ok 2>/dev/null && return 0; sleep 0.1; done
    echo "server on $PORT did not answer PING" >&2
    return 1
}

# User+system CPU ticks of the server so far (all threads).
server_cpu_ticks() {
    awk '{print $14 + $15}' "/proc/$SERVER_PID/stat" 2>/dev/null || echo 0
}
# User-mode CPU ticks only: the server's own code, without the kernel's
# TCP path (the part a change to the server's code moves; less noisy).
server_user_ticks() {
    awk '{print $14}' "/proc/$SERVER_PID/stat" 2>/dev/null || echo 0
}
CLK_TCK=$(getconf CLK_TCK)

# The load generator's executable (built by `cargo bench --no-run`).
loadgen_path() {
    cargo bench --no-run --bench loadgen --message-format=json 2>/dev/null \
        | grep -o '"executable":"[^"]*loadgen[^"]*"' | tail -1 | cut -d'"' -f4
}
