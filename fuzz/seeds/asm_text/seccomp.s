; a small seccomp filter with the superset's conveniences
    ld [arch]
    jne #AUDIT_ARCH_X86_64, kill
    ld [nr]
    jge #0x40000000, kill
    jeq #__NR_openat, check_flags
    jeq #__NR_read, allow, deny
check_flags:
    ld [arg2]
    and #3
    jeq #0, allow
deny: ret ERRNO(EACCES)
allow: ret ALLOW
kill: ret KILL_PROCESS
