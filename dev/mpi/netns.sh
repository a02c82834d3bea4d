#!/usr/bin/env bash
# Two ranks as two hosts: network namespaces rnn-mpi-a (10.99.0.1) and rnn-mpi-b (10.99.0.2)
# joined by a veth pair, mpirun in a, rank 1 started in b through a stand-in for ssh
# (`ip netns exec`), Open MPI's TCP transport only. Counts the bytes that cross the veth during
# a short `rnn train` and compares them with the gradient bytes the ranks report.
# Usage (as root): dev/mpi/netns.sh RNN_WITH_MPI [STEPS]   Leaves nothing behind (namespaces removed).
set -euo pipefail
rnn=$(realpath "$1"); steps=${2:-20}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
a=rnn-mpi-a; b=rnn-mpi-b
cleanup() { ip netns del "$a" 2>/dev/null || true; ip netns del "$b" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
cleanup; work=$(mktemp -d)
ip netns add "$a"; ip netns add "$b"
ip link add veth-a type veth peer name veth-b
ip link set veth-a netns "$a"; ip link set veth-b netns "$b"
ip -n "$a" addr add 10.99.0.1/24 dev veth-a; ip -n "$b" addr add 10.99.0.2/24 dev veth-b
for ns in "$a" "$b"; do ip -n "$ns" link set lo up; done
ip -n "$a" link set veth-a up; ip -n "$b" link set veth-b up
# The stand-in for ssh: "agent HOST COMMAND…" runs COMMAND in HOST's namespace.
cat > "$work/agent" <<AGENT
#!/bin/sh
host=\$1; shift
case "\$host" in 10.99.0.1) ns=$a ;; *) ns=$b ;; esac
exec ip netns exec "\$ns" sh -c "\$*"
AGENT
chmod +x "$work/agent"
bytes() { ip -n "$a" -s link show veth-a | awk '/TX:/{getline; print $1}'; }
before=$(bytes)
cd "$work"
ip netns exec "$a" mpirun --allow-run-as-root --oversubscribe -np 2 --host 10.99.0.1:1,10.99.0.2:1 \
    --mca plm_rsh_agent "$work/agent" --mca btl tcp,self --mca btl_tcp_if_include 10.99.0.0/24 \
    --mca oob_tcp_if_include 10.99.0.0/24 \
    "$rnn" train --text "$root/data/tinyshakespeare.txt" --hidden 64 --layers 2 --batch 16 --seq 32 \
    --steps "$steps" --eval-every "$steps" --val-fraction 0.01 --out "$work/run" 2>&1 | tr '\r' '\n' | grep -v "^.\[Kstep" 
after=$(bytes)
echo "veth-a sent $((after - before)) bytes in $steps steps (rank 0's side; see the ranks' lines for the gradient bytes)"
