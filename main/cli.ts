#!/usr/bin/env node
// `cwb`: the workbench's command line (package.json bin).
import { runCli } from './cli/program'

process.exitCode = await runCli(process.argv)
