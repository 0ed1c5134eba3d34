# allocators.sh — sourced by the comparison scripts (bench-compare.sh, rss-compare.sh,
# gc-compare.sh): the peer allocators as Debian packages them, where their libraries are, which
# of those asked for can run, and installing packages that are missing.

# has LIST ITEM: is ITEM one of the comma-separated LIST?
has() { case ",$1," in *",$2,"*) return 0 ;; esac; return 1; }

LIBDIR=/usr/lib/x86_64-linux-gnu
declare -A PRELOAD=([glibc]="" [jemalloc]=libjemalloc.so.2 [tcmalloc]=libtcmalloc_minimal.so.4
	[mimalloc]=libmimalloc.so.2)
declare -A PKG=([jemalloc]=libjemalloc2 [tcmalloc]=libtcmalloc-minimal4 [mimalloc]=libmimalloc2.0)

find_lib() { # the path of a shared library by soname, or nothing
	if [ -e "$LIBDIR/$1" ]; then echo "$LIBDIR/$1"; return; fi
	/sbin/ldconfig -p 2>/dev/null | awk -v n="$1" '$1 == n && /x86-64/ { print $NF; exit }'
}

# peers_missing ALLOCS: the packages of the peers named in ALLOCS whose library is not found.
peers_missing() {
	local a
	for a in jemalloc tcmalloc mimalloc; do
		has "$1" "$a" && [ -z "$(find_lib "${PRELOAD[$a]}")" ] && echo "${PKG[$a]}"
	done
	return 0
}

# install_pkgs NAME PKG...: install the packages (with sudo unless root); NAME prefixes the
# messages; a failure is a warning, and the script goes on without them.
install_pkgs() {
	local name=$1 sudo=
	shift
	[ $# -gt 0 ] || return 0
	echo "$name: installing $*" >&2
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
		--no-install-recommends "$@" >/dev/null ||
		echo "$name: could not install $*; going on without" >&2
}

# resolve_allocators NAME ALLOCS: ACTIVE becomes the allocators of ALLOCS that can run, in that
# order, and PRELOAD[peer] the full path of each peer's library (PRELOAD[goalloc] is the caller's);
# a peer whose library is missing is skipped with a message, an unknown name ends the script.
resolve_allocators() {
	local name=$1 a p wanted
	ACTIVE=()
	IFS=, read -r -a wanted <<<"$2"
	for a in "${wanted[@]}"; do
		case $a in
		goalloc|glibc) ACTIVE+=("$a") ;;
		jemalloc|tcmalloc|mimalloc)
			p=$(find_lib "${PRELOAD[$a]}")
			if [ -n "$p" ]; then PRELOAD[$a]=$p; ACTIVE+=("$a")
			else echo "$name: ${PRELOAD[$a]} not found, skipping $a" >&2; fi ;;
		*) echo "$name: unknown allocator $a" >&2; exit 2 ;;
		esac
	done
}
