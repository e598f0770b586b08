#!/bin/bash
#
# Stand-ins for DevStack's inc/ini-config, for testing devstack/plugin.sh
# without DevStack. Written for these tests; they keep DevStack's
# behaviour, quirks included, where the plugin can see it:
#
# - a section runs from its "[name]" line to the next "[...]" line; an
#   option line starts at column 0: "name", blanks, "=";
# - iniget prints every matching line's value after the first "=", through
#   an unquoted echo: blanks collapse, lines join with spaces, patterns
#   expand;
# - iniget_multiline prints the values of all matching lines, space
#   separated, through an unquoted echo;
# - iniset passes the value through an unquoted echo (blanks collapse);
#   it appends "\n[section]" when the section is missing, adds the option
#   right after the section line when missing, and otherwise replaces the
#   value of every matching line, keeping "name = ";
# - iniset_multiline deletes the option's lines and adds one line per
#   word of its arguments right after the section line, in order;
# - iniadd is iniset_multiline of the old values then the new ones;
# - iniadd_literal adds one "name = value" line right after the section
#   line, the value taken as it is;
# - inidelete, inicomment, iniuncomment, ini_has_option.
# "-sudo" is accepted and ignored.

# _standin_ini file section option mode [value] - one pass over the file;
# modes: get (print matching lines), values (their values), delete,
# comment, uncomment, replace (new value on matching lines), add (a line
# after each section line). Arguments reach awk through the environment,
# which does not interpret backslashes.
function _standin_ini {
    local file=$1 mode=$4 out
    out=$(mktemp "$file.XXXXXX")
    STANDIN_HEADER="[$2]" STANDIN_OPTION=$3 STANDIN_MODE=$4 \
    STANDIN_VALUE=${5:-} awk '
        BEGIN {
            header = ENVIRON["STANDIN_HEADER"]
            option = ENVIRON["STANDIN_OPTION"]
            mode = ENVIRON["STANDIN_MODE"]
            value = ENVIRON["STANDIN_VALUE"]
        }
        function is_option(line,    rest) {
            if (substr(line, 1, length(option)) != option) return 0
            rest = substr(line, length(option) + 1)
            return rest ~ /^[ \t]*=/
        }
        function is_commented(line) {
            # Anything without blanks, "#", blanks, then the option line.
            if (!match(line, /^[^ \t]*#[ \t]*/)) return 0
            return is_option(substr(line, RLENGTH + 1))
        }
        /^\[/ { inside = (index($0, header) == 1) }
        {
            line = $0
            if (inside && !/^\[/ && is_option(line)) {
                match(line, /^[^=]*=[ \t]*/)
                if (mode == "get") print line
                if (mode == "values") print substr(line, RLENGTH + 1)
                if (mode == "delete") next
                if (mode == "comment") line = "#" line
                if (mode == "replace") line = substr(line, 1, RLENGTH) value
            }
            if (inside && !/^\[/ && mode == "uncomment" &&
                    is_commented(line)) {
                match(line, /^[^ \t]*#[ \t]*/)
                line = substr(line, RLENGTH + 1)
            }
            if (mode != "get" && mode != "values") print line
            if (mode == "add" && index($0, header) == 1)
                print option " = " value
        }' "$file" > "$out" || { rm -f "$out"; return 1; }
    if [[ "$mode" == "get" || "$mode" == "values" ]]; then
        cat "$out"
    else
        cat "$out" > "$file"
    fi
    rm -f "$out"
}

function _standin_has_section {
    [[ -f "$1" ]] && grep -q "^\[$2\]" "$1"
}

function _standin_add_section {
    echo -e "\n[$2]" >> "$1"
}

function ini_has_option {
    [[ "$1" == "-sudo" ]] && shift
    [[ -f "$1" ]] || return 1
    [[ -n "$(_standin_ini "$1" "$2" "$3" get)" ]]
}

function iniget {
    local lines
    [[ -f "$1" ]] || return 0
    lines=$(_standin_ini "$1" "$2" "$3" get)
    echo ${lines#*=}
}

function iniget_multiline {
    local values
    [[ -f "$1" ]] || return 0
    values=$(_standin_ini "$1" "$2" "$3" values)
    echo ${values}
}

function iniset {
    [[ "$1" == "-sudo" ]] && shift
    local file=$1 section=$2 option=$3 value
    value=$(echo $4)
    [[ -n "$section" && -n "$option" ]] || return 0
    _standin_has_section "$file" "$section" || \
        _standin_add_section "$file" "$section"
    if ini_has_option "$file" "$section" "$option"; then
        _standin_ini "$file" "$section" "$option" replace "$value"
    else
        _standin_ini "$file" "$section" "$option" add "$value"
    fi
}

function iniset_multiline {
    [[ "$1" == "-sudo" ]] && shift
    local file=$1 section=$2 option=$3
    shift 3
    local -a values=($@)
    if _standin_has_section "$file" "$section"; then
        _standin_ini "$file" "$section" "$option" delete
    else
        _standin_add_section "$file" "$section"
    fi
    # Each line goes right after the section line: add the last first.
    local i
    for (( i=${#values[@]}-1; i>=0; i-- )); do
        _standin_ini "$file" "$section" "$option" add "${values[$i]}"
    done
}

function iniadd {
    [[ "$1" == "-sudo" ]] && shift
    local file=$1 section=$2 option=$3
    shift 3
    local values
    values="$(iniget_multiline "$file" "$section" "$option") $@"
    iniset_multiline "$file" "$section" "$option" $values
}

function iniadd_literal {
    [[ "$1" == "-sudo" ]] && shift
    [[ -n "$2" && -n "$3" ]] || return 0
    _standin_ini "$1" "$2" "$3" add "$4"
}

function inidelete {
    [[ "$1" == "-sudo" ]] && shift
    [[ -n "$2" && -n "$3" ]] || return 0
    _standin_ini "$1" "$2" "$3" delete
}

function inicomment {
    [[ "$1" == "-sudo" ]] && shift
    _standin_ini "$1" "$2" "$3" comment
}

function iniuncomment {
    [[ "$1" == "-sudo" ]] && shift
    _standin_ini "$1" "$2" "$3" uncomment
}
