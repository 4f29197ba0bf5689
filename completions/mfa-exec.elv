
set edit:completion:arg-completer[mfa-exec] = { |@words|
    var index = (count $words)
    set index = (- $index 1)

    put (env _CLAP_IFS="\n" _CLAP_COMPLETE_INDEX=(to-string $index) _MFA_EXEC_COMPLETE="elvish" mfa-exec -- $@words) | to-lines
}

