complete --keep-order --exclusive --command mfa-exec --arguments "(_MFA_EXEC_COMPLETE=fish mfa-exec -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
