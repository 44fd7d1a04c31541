# bash completion for finwatch(8)
_finwatch() {
    local cur prev words cword
    _init_completion || return

    local states="fin-wait-1 last-ack closing fin-wait-2 close-wait"
    local cmd="" i
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            list|kill|status|reload) cmd=${words[i]}; break ;;
        esac
    done

    case $prev in
        --socket) _filedir; return ;;
        -s|--state) COMPREPLY=($(compgen -W "$states" -- "${cur##*,}")); return ;;
        -N|--netns) COMPREPLY=($(compgen -W "host all $(ls /run/netns 2>/dev/null)" -- "$cur")); return ;;
        -o|--older-than|-u|--unit|--container|--pod|-l|--local|-p|--peer|-c|--cookie) return ;;
    esac

    case $cmd in
        "") COMPREPLY=($(compgen -W "list kill status reload --socket --help --version" -- "$cur")) ;;
        list) COMPREPLY=($(compgen -W "--state --older-than --json --summary --ipv4 --ipv6 --unit --container --pod --netns --processes --no-daemon --help" -- "$cur")) ;;
        kill) COMPREPLY=($(compgen -W "--state --older-than --unit --container --pod --netns --local --peer --cookie --dry-run --yes --ipv4 --ipv6 --no-daemon --help" -- "$cur")) ;;
        status) COMPREPLY=($(compgen -W "--json --help" -- "$cur")) ;;
        reload) COMPREPLY=($(compgen -W "--help" -- "$cur")) ;;
    esac
}
complete -F _finwatch finwatch
