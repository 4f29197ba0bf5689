complete --keep-order --exclusive --command mfa-exec --arguments "(COMPLETE=fish mfa-exec -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
