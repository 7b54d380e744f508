# The test sandbox, for tests/run.sh, tests/demo.sh and trying the functions locally: the tools
# of tests/tools.sh, and AWS settings that keep every AWS call on 127.0.0.1.
#
# It REPLACES this shell's AWS credentials with fake ones and unsets AWS_PROFILE: a shell that
# sourced it cannot deploy. To deploy, use a new shell with `source tests/tools.sh` only.
# shellcheck shell=bash

source tests/tools.sh

# Never reach a real AWS endpoint or the instance metadata service.
export AWS_EC2_METADATA_DISABLED=true
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
unset AWS_PROFILE AWS_SESSION_TOKEN
