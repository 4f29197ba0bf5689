function __mfa_exec_complete
    set -l tokens (commandline --current-process --tokenize --cut-at-cursor)
    set -l command
    set -l after 0
    for t in $tokens[2..-1]
        if test $after = 1
            set -a command (string escape -- $t)
        else if test "$t" = "--"
            set after 1
        end
    end
    if test $after = 1
        complete -C (string join -- ' ' $command (commandline --current-token))
        return
    end
    _MFA_EXEC_COMPLETE=fish mfa-exec -- $tokens (commandline --current-token)
end
complete --keep-order --exclusive --command mfa-exec --arguments "(__mfa_exec_complete)"
