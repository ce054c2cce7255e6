# Filters `pip install -q` output down to what matters: drops the warnings every install on
# these machines repeats (missing local index folders), setuptools' deprecation warnings with
# their boxed banner (between two "!!" lines) and the source line Python prints after it,
# and blank lines.
/^[[:space:]]*!![[:space:]]*$/ { banner = !banner; after = !banner; next }
banner { next }
after && /^[[:space:]]/ { after = 0; next }
{ after = 0 }
/is ignored: it is neither/ || /BuildBackendWarning/ || /SetuptoolsDeprecationWarning/ { next }
/^[[:space:]]*$/ { next }
{ print }
