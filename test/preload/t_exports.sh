#!/usr/bin/env bash
# The library's ABI: exactly the malloc family, the 20 C++ operators, the signal-handler
# installers (preload/signal.c) and goalloc_*; libc as the only dependency; -z initfirst; an
# SONAME (valgrind's soname matching needs one).
lib=${GOALLOC_LIB:-build/libgoalloc.so}
[ -f "$lib" ] || { echo "1..0 # SKIP no library"; exit 0; }
expected="malloc free calloc realloc reallocarray posix_memalign aligned_alloc memalign valloc pvalloc
malloc_usable_size free_sized free_aligned_sized cfree __libc_malloc __libc_free __libc_calloc
__libc_realloc __libc_memalign __libc_valloc __libc_pvalloc __posix_memalign __libc_cfree malloc_trim
mallopt mallinfo mallinfo2 malloc_stats malloc_info
sigaction signal bsd_signal ssignal sysv_signal __sysv_signal siginterrupt sigset
_Znwm _Znam _ZnwmRKSt9nothrow_t _ZnamRKSt9nothrow_t _ZnwmSt11align_val_t _ZnamSt11align_val_t
_ZnwmSt11align_val_tRKSt9nothrow_t _ZnamSt11align_val_tRKSt9nothrow_t _ZdlPv _ZdaPv _ZdlPvm _ZdaPvm
_ZdlPvSt11align_val_t _ZdaPvSt11align_val_t _ZdlPvmSt11align_val_t _ZdaPvmSt11align_val_t
_ZdlPvRKSt9nothrow_t _ZdaPvRKSt9nothrow_t _ZdlPvSt11align_val_tRKSt9nothrow_t _ZdaPvSt11align_val_tRKSt9nothrow_t"
defined=$(nm -D --defined-only "$lib" | awk '{print $3}' | sort)
echo "1..6"
n=0
check() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
missing=$(for s in $expected; do grep -qx "$s" <<<"$defined" || echo "$s"; done)
check "$([ -z "$missing" ] && echo 0 || echo 1)" "every malloc-family and C++ operator symbol is exported"
[ -z "$missing" ] || echo "# missing: $missing"
extra=$(for s in $defined; do case " $(echo $expected) " in *" $s "*) ;; *) [[ $s == goalloc_* ]] || echo "$s" ;; esac; done)
check "$([ -z "$extra" ] && echo 0 || echo 1)" "nothing else is exported but goalloc_*"
[ -z "$extra" ] && true || echo "# extra: $extra"
needed=$(readelf -d "$lib" | awk '/NEEDED/ {print $NF}' | tr -d '[]' | tr '\n' ' ')
check "$([ "$needed" = "libc.so.6 " ] && echo 0 || echo 1)" "depends on libc only (got: $needed)"
check "$(readelf -d "$lib" | grep -q 'INITFIRST' && echo 0 || echo 1)" "linked with -z initfirst"
check "$(readelf -d "$lib" | grep -q 'SONAME.*libgoalloc.so' && echo 0 || echo 1)" "has the SONAME libgoalloc.so"
check "$(readelf -d "$lib" | grep -q 'STATIC_TLS' && echo 0 || echo 1)" "uses initial-exec (static) TLS"
