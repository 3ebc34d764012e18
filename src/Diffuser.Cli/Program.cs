using Diffuser.Cli;

return DiffuserCli.Run(args, CliContext.ForProcess());
