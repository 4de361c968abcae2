# Sourced by the ablation scripts: private_cli OUT builds the command line and copies it to OUT/cli, so that rebuilding the
# solution during the runs changes none of them. An existing copy is never overwritten, since a library rewritten under a
# running process crashes it: a second invocation (e.g. the other seed in parallel) reuses an identical copy and refuses a
# different one.
private_cli() {
  local out="$1"
  dotnet build src/Cli -c Release -nologo -v q -clp:ErrorsOnly
  if [ ! -d "$out/cli" ]; then
    mkdir -p "$out" && cp -r src/Cli/bin/Release/net10.0 "$out/cli.tmp$$" && mv "$out/cli.tmp$$" "$out/cli"
  elif ! diff -rq src/Cli/bin/Release/net10.0 "$out/cli" > /dev/null; then
    echo "$out/cli holds another build of the command line; remove it when no run uses it" >&2
    return 1
  fi
}
